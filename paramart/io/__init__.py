"""Image files in and out: safe loading (checked before decoding), sample images, atomic writes."""

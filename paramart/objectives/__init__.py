"""What the image is optimised for: loss terms on VGG features, their sum (the objective),
and what acts on the canvas or the targets before VGG sees them (masks, colour
preservation, robustness transforms)."""

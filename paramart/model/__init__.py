"""The network that sees the image: VGG-19 (layers by name, weights, precision) and the
independent Gatys score that judges saved images with it."""

"""Video style transfer (issue #20): frame by frame with optical flow (Ruder et al. 2016)."""

"""The names of the files in a run folder, in one place (README "Run" lists what each holds).

Every module that writes or reads a run folder takes the names from here: the run itself
(:mod:`paramart.runner.state`), its finish (:mod:`paramart.outputs.rundir`), the time-lapse,
resume, the preview server, the gallery and the sweep report.
"""

#: the image: what a finished run (or a stopped one, at its last good step) paints
FINAL = "final.png"
#: a coordinate image's print (print.size), rendered from the field after the print stage
PRINT = "print.png"
#: a print run's canvas as the canvas stages left it (the image print.png is anchored to)
CANVAS = "canvas.png"
#: the parameterization's config and learned state, optimiser and RNG state, the step
CHECKPOINT = "checkpoint.pt"
#: a row per logged step: step, total, one column per active term, seconds
LOSSES = "losses.csv"
#: the loss curves against step
LOSS_PLOT = "losses.png"
#: key settings, time taken, final losses
RUN_JSON = "run.json"
#: the optimisation as a time-lapse
TIMELAPSE_GIF = "timelapse.gif"
TIMELAPSE_MP4 = "timelapse.mp4"
#: a video run (content= a clip, paramart/video): the styled clip, and input | result side by side
CLIP_GIF = "final.gif"
SIDE_BY_SIDE_GIF = "side_by_side.gif"
#: thumbnails of the inputs (what the gallery shows)
INPUTS = "inputs"
#: a failed sweep job's record (in its job folder)
FAILED = "FAILED.json"

"""What a run leaves behind: the run folder's files (time-lapse, loss plot, run.json), the
gallery of runs, and exports of a learned run at any size."""

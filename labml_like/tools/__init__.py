"""The experiment's machinery: what a run needs but a learner need not read first.

Exact resume, checkpoint and metrics files, plots, publishing a run, the command line and the
details of setting up distributed training live here, annotated and tested, apart from the lesson
in `labml_like.conv_mixer` and `labml_like.experiments`.
"""

"""Training runs: their settings (:class:`~resnet_ode.training.runs.RunConfig`), training, and the one cache of runs, surfaces and Hessians."""

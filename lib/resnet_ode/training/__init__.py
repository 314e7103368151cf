"""Training runs: their settings (:class:`~resnet_ode.training.trainer.RunConfig`), training, and the one cache of runs, surfaces and Hessians."""

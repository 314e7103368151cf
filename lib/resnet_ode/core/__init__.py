"""The numerical core: data, time grids, Runge-Kutta methods and their one kernel, blocks with exact Jacobian products, the network, losses, objectives and optimisers.

Everything a training run computes lives here (with :mod:`resnet_ode.util`),
so the training-code hash (:func:`resnet_ode.training.runs.source_hash`)
covers these modules and nothing of the studies or the book.
"""

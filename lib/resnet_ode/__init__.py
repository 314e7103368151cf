"""Deep residual networks as discretised ordinary differential equations.

The package behind the book: the Peaks data set, time grids, Runge-Kutta
integrators as validated Butcher tableaux, network blocks with exact
Jacobian products, losses and regularisers, objectives and optimisers,
cached training runs, stability analysis and plotting.

Modules are imported lazily by the user; importing the package itself is cheap.
"""

__version__ = "0.1.0"

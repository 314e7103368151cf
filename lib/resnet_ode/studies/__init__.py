"""What Chapters 3 and 4 measure: layer spectra and stability regions, loss landscapes, the Runge-Kutta study, accuracies and their intervals, graded verdicts, figures."""

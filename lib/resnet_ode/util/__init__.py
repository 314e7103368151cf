"""Plumbing every layer uses: checked arguments, file locations, atomic files and locks, progress bars, rounding.

Imports nothing else of the package.
"""

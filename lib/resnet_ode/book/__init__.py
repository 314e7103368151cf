"""The book pipeline: which runs each chapter needs, executing notebooks (papermill pages, chapters, Jupyter Book's cache), the chapters' key numbers and the ``resnet-ode`` command."""

"""The neural classifier: windows over a text, the two ordinal heads, calibration, the classifier
(load, save, score) and the training loop. Below the scoring core and the train stage; above the base
modules, the lexicon and the metrics. Imports torch, so it is imported only where a model runs."""

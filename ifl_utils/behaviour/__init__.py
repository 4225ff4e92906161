"""Reading behaviour: where on an answer people look and point, and how that differs between people.

- :mod:`.trajectories` — reading-position curves, position histograms and per-curve measures
  (one vectorised pass over the samples table);
- :mod:`.clustering` — bisecting k-means of the curves (the paper's F5) and a data-driven k;
- :mod:`.agreement` — gaze-mouse agreement (F6) and how clusters relate to workers and labels;
- :mod:`.diversity` — per-worker measures and the share of variance between workers;
- :mod:`.events` — sampling rates and fixation detection with pymovements;
- :mod:`.replay` — one answer's path on the wrapped text, and its animated replay (F1).
"""

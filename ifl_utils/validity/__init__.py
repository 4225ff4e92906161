"""Measurement validity of the webcam gaze: how much of the recorded "gaze" is the cursor seen
through the tracker (WebGazer, as the release runs it, keeps training on mouse moves; paper notes
§5 item 23).

Modules, one job each:

:mod:`.cursor`
    the time since the cursor last moved, cleaned gaze, gaze-cursor distance and its baseline
    (the cursor of another query of the same worker at the same relative time).
:mod:`.distance`
    distance to the cursor by time since the last move (item 1) and the idle threshold.
:mod:`.leadlag`
    cross-correlation of gaze and cursor over lags (item 2).
:mod:`.agreement`
    gaze-mouse agreement on windows with and without recent moves (item 3).
:mod:`.explained`
    per-worker R² of gaze on the cursor (item 4).
:mod:`.models`
    reward-model inputs with idle-only and cursor-residual gaze features (item 5).
:mod:`.simulate`
    synthetic sessions with a planted cursor pull, for checking the methods (item 6).
:mod:`.boot`
    fast bootstrap over workers of per-worker summaries.
"""

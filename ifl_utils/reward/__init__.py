"""Reward models of preferences from implicit feedback and text: labels (:mod:`.labels`),
estimators (:mod:`.models`), the two evaluation protocols (:mod:`.protocols`), the analysis space of
fold schemes x exclusion lists x seeds (:mod:`.multiverse`), worker-bootstrap and per-fold metrics
(:mod:`.metrics`), frozen text embeddings (:mod:`.embed`), a fine-tuned pairwise cross-encoder
(:mod:`.finetune`), the release's feature set rebuilt and the one-change path from its protocol to
ours (:mod:`.release`) and an LLM-as-judge client (:mod:`.judge`)."""

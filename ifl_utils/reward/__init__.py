"""Reward models of preferences from implicit feedback and text: labels (:mod:`.labels`),
estimators (:mod:`.models`), the two evaluation protocols (:mod:`.protocols`), frozen text
embeddings (:mod:`.embed`), a fine-tuned pairwise reward model (:mod:`.finetune`) and an
LLM-as-judge client (:mod:`.judge`)."""

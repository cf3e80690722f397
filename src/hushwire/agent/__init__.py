"""SimpleX agent layer: end-to-end connections over SMP queues (agent.md)."""

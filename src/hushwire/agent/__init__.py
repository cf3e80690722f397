"""SimpleX agent layer: end-to-end encrypted connections over SMP queues (simplexmq
Simplex.Messaging.Agent; docs/protocol/agent.md). The pure modules (``machine``, ``sealing``,
``ratchet``, ``protocol``, ``links``) hold the logic and the formats; ``agent`` is the async
shell, ``outbox`` its delivery loop, ``store`` its durable state."""

// Placeholder; replaced by the Kafka wrapper.

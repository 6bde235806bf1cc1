extension ServeConfig {
    /// Upper bound of `serve.learners`: each learner holds a full copy of item state and its own Kafka
    /// clients, so far more threads than cores only costs memory and connections.
    public static let maxLearners = 64

    /// The configuration of learner `index` of `serve.learners`: unchanged with one learner; otherwise
    /// its own group member (`kafka.instance_id` + "-<i>", so a restarted process takes back the same
    /// partitions; `sync.learner_id` likewise) and its own snapshot directory (`<directory>/learner-<i>`, locked and identified like
    /// any snapshot directory). HTTP belongs to the process, not to a learner.
    public func forLearner(_ index: Int) -> ServeConfig {
        precondition((0..<learners).contains(index), "learner index out of range")
        guard learners > 1 else { return self }
        var c = self
        c.learners = 1
        c.http.enabled = false
        if let id = kafka.instanceID { c.kafka.instanceID = "\(id)-\(index)" }
        if let id = sync.learnerID { c.sync.learnerID = "\(id)-\(index)" }  // each learner publishes under its own name
        c.snapshots.directory = snapshots.directory + "/learner-\(index)"
        return c
    }
}

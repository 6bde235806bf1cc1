import Configuration

/// A provider shown under a name of ours ("command-line flags", "environment", the file's path) in
/// swift-configuration's access logs and in streamrec's type errors; otherwise the upstream itself.
/// Without it, flags and environment (both environment-variable providers behind key mappings) would
/// both read "KeyMappingProvider[upstream: EnvironmentVariablesProvider]".
struct NamedProvider<Upstream: ConfigProvider>: ConfigProvider {
    let providerName: String
    let upstream: Upstream

    init(_ name: String, _ upstream: Upstream) {
        self.providerName = name
        self.upstream = upstream
    }

    func value(forKey key: AbsoluteConfigKey, type: ConfigType) throws -> LookupResult {
        try upstream.value(forKey: key, type: type)
    }

    nonisolated(nonsending) func fetchValue(
        forKey key: AbsoluteConfigKey,
        type: ConfigType
    ) async throws -> LookupResult {
        try await upstream.fetchValue(forKey: key, type: type)
    }

    nonisolated(nonsending) func watchValue<Return: ~Copyable>(
        forKey key: AbsoluteConfigKey,
        type: ConfigType,
        updatesHandler:
            nonisolated(nonsending) (_ updates: ConfigUpdatesAsyncSequence<Result<LookupResult, any Error>, Never>)
            async throws -> Return
    ) async throws -> Return {
        try await upstream.watchValue(forKey: key, type: type, updatesHandler: updatesHandler)
    }

    func snapshot() -> any ConfigSnapshot { upstream.snapshot() }

    nonisolated(nonsending) func watchSnapshot<Return: ~Copyable>(
        updatesHandler:
            nonisolated(nonsending) (_ updates: ConfigUpdatesAsyncSequence<any ConfigSnapshot, Never>) async throws ->
            Return
    ) async throws -> Return {
        try await upstream.watchSnapshot(updatesHandler: updatesHandler)
    }
}

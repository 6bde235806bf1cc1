public enum StreamRecCoreVersion { public static let string = "0.1.0" }

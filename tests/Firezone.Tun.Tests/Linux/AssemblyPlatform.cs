// The namespace tests call Linux-only APIs; each of them skips with a visible reason on other systems.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

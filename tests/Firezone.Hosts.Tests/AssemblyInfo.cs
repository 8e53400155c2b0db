// The hosts and their helpers are Linux programs; so are their tests.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

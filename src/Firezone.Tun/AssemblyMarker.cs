namespace Firezone.Tun;

/// <summary>Marks the Firezone.Tun assembly (for reflection and tests).</summary>
public static class AssemblyMarker { }

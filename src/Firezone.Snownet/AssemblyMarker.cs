namespace Firezone.Snownet;

/// <summary>Marks the Firezone.Snownet assembly (for reflection and tests).</summary>
public static class AssemblyMarker { }

namespace Firezone.DevPortal;

/// <summary>Placeholder entry point; replaced by the dev portal host.</summary>
public static class Program
{
    /// <summary>Runs the dev portal.</summary>
    public static void Main() { }
}

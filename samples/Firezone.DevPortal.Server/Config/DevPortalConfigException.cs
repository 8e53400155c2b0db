namespace Firezone.DevPortal.Config;

/// <summary>A dev portal config that cannot be used: where (file, JSON path) and why.</summary>
public sealed class DevPortalConfigException : Exception
{
    /// <summary>Creates the error.</summary>
    public DevPortalConfigException(string source, string jsonPath, string reason, Exception? inner = null)
        : base($"{source}: {jsonPath}: {reason}", inner)
    {
        Source = source;
        JsonPath = jsonPath;
        Reason = reason;
    }

    /// <summary>The file (or <c>&lt;in-memory&gt;</c>) the config came from.</summary>
    public new string Source { get; }

    /// <summary>Where in the document, e.g. <c>$.resources[2].address</c>.</summary>
    public string JsonPath { get; }

    /// <summary>What is wrong.</summary>
    public string Reason { get; }
}

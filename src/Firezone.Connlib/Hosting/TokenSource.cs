using System.Runtime.Versioning;
using System.Text;

namespace Firezone.Connlib.Hosting;

/// <summary>
/// Where the headless client finds its portal token (hosts-and-tun.md §7.1): the <c>FIREZONE_TOKEN</c> variable or the
/// positional argument first, else the token file, which must be owned by root (uid 0, gid 0) and carry no mode bits in
/// <c>0o177</c> (so 0400 or 0600). The check is on ownership and mode bits only, also when running as root.
/// </summary>
public static class TokenSource
{
    /// <summary>The environment variable that holds the token.</summary>
    public const string EnvironmentVariable = "FIREZONE_TOKEN";

    /// <summary>The headless client's default token file.</summary>
    public const string DefaultTokenPath = "/etc/dev.firezone.client/token";

    /// <summary>
    /// Reads <c>FIREZONE_TOKEN</c> and removes it from this process's environment (upstream does so before any thread
    /// starts, so child processes such as <c>resolvectl</c> never see it). Empty counts as unset.
    /// </summary>
    public static string? TakeFromEnvironment()
    {
        string? token = Environment.GetEnvironmentVariable(EnvironmentVariable);
        Environment.SetEnvironmentVariable(EnvironmentVariable, null);
        return string.IsNullOrEmpty(token) ? null : token;
    }

    /// <summary>
    /// The token: <paramref name="explicitToken"/> (environment or positional) when non-empty, else the whitespace-trimmed
    /// content of <paramref name="tokenPath"/> after the permission check.
    /// </summary>
    /// <exception cref="TokenException">No token anywhere (upstream's message), or the file fails the permission check or is not UTF-8.</exception>
    [UnsupportedOSPlatform("windows")]
    public static string Resolve(string? explicitToken, string tokenPath)
    {
        ArgumentNullException.ThrowIfNull(tokenPath);
        if (!string.IsNullOrEmpty(explicitToken))
        {
            return explicitToken;
        }

        return ReadTokenFile(tokenPath) is { Length: > 0 } token
            ? token
            : throw new TokenException($"Can't find the Firezone token in ${EnvironmentVariable} or in `{tokenPath}`");
    }

    /// <summary>
    /// The trimmed token in <paramref name="path"/>, or null when the file does not exist or is unreadable.
    /// </summary>
    /// <exception cref="TokenException">The file is not owned by root:root, has a mode bit of 0o177 set, or is not UTF-8.</exception>
    [UnsupportedOSPlatform("windows")]
    public static string? ReadTokenFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!UnixFileStatus.TryGet(path, out var status))
        {
            return null;
        }

        CheckPermissions(path, status);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // upstream: "Token file existed but now is unreadable"
        }

        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes).Trim();
        }
        catch (DecoderFallbackException)
        {
            throw new TokenException($"Token file `{path}` is not valid UTF-8");
        }
    }

    /// <summary>Upstream's check and messages (owner, group, then mode), on the stat of <paramref name="path"/>.</summary>
    internal static void CheckPermissions(string path, UnixFileStatus status)
    {
        if (status.Uid != 0)
        {
            throw new TokenException($"Token file `{path}` should be owned by root user");
        }

        if (status.Gid != 0)
        {
            throw new TokenException($"Token file `{path}` should be owned by root group");
        }

        if ((status.Mode & 0x7F /* 0o177 */) != 0)
        {
            throw new TokenException($"Token file `{path}` should have mode 0o400 or 0x600");
        }
    }
}

/// <summary>The portal token could not be found or its file is not safe to use.</summary>
public sealed class TokenException : Exception
{
    /// <summary>Creates the exception with its message.</summary>
    public TokenException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception without a message.</summary>
    public TokenException()
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public TokenException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

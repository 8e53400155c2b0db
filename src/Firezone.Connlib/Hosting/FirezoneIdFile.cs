using System.Runtime.Versioning;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Firezone.Connlib.Hosting;

/// <summary>
/// The device ids of the two hosts (hosts-and-tun.md §7.1, §7.2): a non-empty flag/environment value wins, else the
/// id is read from the host's file, else a new UUID v4 is written there. Its SHA-256 hex is what the portal
/// sees (the raw id is never sent:
/// <c>Firezone.PhoenixChannel.LoginUrl</c> hashes it into <c>external_id</c>).
/// </summary>
public static class FirezoneIdFile
{
    /// <summary>The headless client's id file: <c>{"id":"&lt;uuid&gt;"}</c>.</summary>
    public const string ClientDefaultPath = "/var/lib/dev.firezone.client/config/firezone-id.json";

    /// <summary>The gateway's id file: the id as plain text, no newline.</summary>
    public const string GatewayDefaultPath = "/var/lib/firezone/gateway_id";

    /// <summary>
    /// The client's id: <paramref name="explicitId"/> when non-empty, else the <c>id</c> of the JSON file at
    /// <paramref name="path"/>, else a new lowercase UUID v4 written there atomically (temporary file + rename; only if
    /// absent). As upstream, on every run the directory is created and set to mode 0770 and the file to 0640, and an
    /// existing file that does not parse fails instead of being regenerated (so a device never silently changes id).
    /// </summary>
    /// <exception cref="FirezoneIdException">The file is corrupt or cannot be read or written.</exception>
    [UnsupportedOSPlatform("windows")]
    public static string GetOrCreateClientId(string? explicitId, string path = ClientDefaultPath)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!string.IsNullOrEmpty(explicitId))
        {
            return explicitId;
        }

        try
        {
            string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
            Directory.CreateDirectory(directory);
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute);
            if (!File.Exists(path))
            {
                string json = new JsonObject { ["id"] = NewId() }.ToJsonString();
                WriteAtomicallyIfAbsent(path, json);
            }

            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
                && id.GetString() is { Length: > 0 } text
                ? text
                : throw new FirezoneIdException($"The device id file `{path}` has no \"id\" string");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new FirezoneIdException($"Couldn't read or create the device id file `{path}`: {e.Message}", e);
        }
    }

    /// <summary>
    /// The gateway's id: <paramref name="explicitId"/> when non-empty, else the non-empty content of
    /// <paramref name="path"/> used verbatim (upstream does not trim it, nor do we: an id written by hand with a trailing
    /// newline keeps it), else a new lowercase UUID v4 written there without newline (directory created).
    /// </summary>
    /// <exception cref="FirezoneIdException">Neither readable nor writable, with upstream's message.</exception>
    public static string GetOrCreateGatewayId(string? explicitId, string path = GatewayDefaultPath)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!string.IsNullOrEmpty(explicitId))
        {
            return explicitId;
        }

        try
        {
            if (File.Exists(path) && File.ReadAllText(path) is { Length: > 0 } existing)
            {
                return existing;
            }

            string id = NewId();
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.WriteAllText(path, id);
            return id;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string directory = Path.GetDirectoryName(Path.GetFullPath(path)) + "/";
            throw new FirezoneIdException($"Couldn't read FIREZONE_ID or write it to disk: Please provide it through the env variable or provide rw access to {directory}", e);
        }
    }

    private static string NewId() => Guid.NewGuid().ToString("D");

    private static void WriteAtomicallyIfAbsent(string path, string content)
    {
        string temporary = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temporary, content);
        try
        {
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first: use theirs.
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}

/// <summary>The device id could neither be read nor created.</summary>
public sealed class FirezoneIdException : Exception
{
    /// <summary>Creates the exception with its message.</summary>
    public FirezoneIdException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception without a message.</summary>
    public FirezoneIdException()
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public FirezoneIdException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

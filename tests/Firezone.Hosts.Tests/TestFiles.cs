using System.Runtime.InteropServices;

namespace Firezone.Hosts.Tests;

/// <summary>A temporary directory deleted on dispose, and a few libc calls tests need.</summary>
internal sealed partial class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("fz-hosts-").FullName;
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [LibraryImport("libc", EntryPoint = "chown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Chown(string path, uint owner, uint group);

    /// <summary>The tool's path on PATH, or null.</summary>
    public static string? FindTool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Append("/usr/sbin").Append("/usr/bin")
            .Select(d => System.IO.Path.Combine(d, name)).FirstOrDefault(System.IO.File.Exists);
}

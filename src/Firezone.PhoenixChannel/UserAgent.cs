using System.Runtime.InteropServices;

namespace Firezone.PhoenixChannel;

/// <summary>
/// The User-Agent header the portal reads the component version from (spec §5.5):
/// <c>&lt;os&gt;/&lt;os_version&gt; connlib/&lt;version&gt; (&lt;arch&gt;; &lt;kernel&gt;)</c> for clients and gateways,
/// <c>relay/&lt;version&gt;</c> for relays.
/// </summary>
public static class UserAgent
{
    /// <summary>The User-Agent of a client or gateway reporting <paramref name="version"/> (clients should say 1.3.x).</summary>
    public static string ForConnlib(string version)
    {
        var (os, osVersion) = OperatingSystemName();
        var arch = Architecture();
        var kernel = KernelRelease();
        var extra = (arch, kernel) switch
        {
            ({ } a, { } k) => $" ({a}; {k})",
            ({ } a, null) => $" ({a})",
            (null, { } k) => $" ({k})",
            _ => "",
        };
        return $"{os}/{osVersion} connlib/{version}{extra}";
    }

    /// <summary>The relay's User-Agent: exactly <c>relay/&lt;version&gt;</c>.</summary>
    public static string ForRelay(string version) => $"relay/{version}";

    private static (string Os, string Version) OperatingSystemName()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                string? id = null, versionId = null;
                foreach (var line in File.ReadLines("/etc/os-release"))
                {
                    if (line.StartsWith("ID=", StringComparison.Ordinal)) id = line[3..].Trim('"');
                    else if (line.StartsWith("VERSION_ID=", StringComparison.Ordinal)) versionId = line[11..].Trim('"');
                }
                if (!string.IsNullOrEmpty(id))
                {
                    return (char.ToUpperInvariant(id[0]) + id[1..], versionId ?? "Rolling Release");
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
            return ("Linux", Environment.OSVersion.Version.ToString());
        }
        if (OperatingSystem.IsWindows()) return ("Windows", Environment.OSVersion.Version.ToString());
        if (OperatingSystem.IsMacOS()) return ("Mac OS", Environment.OSVersion.Version.ToString());
        return (RuntimeInformation.OSDescription.Split(' ')[0], Environment.OSVersion.Version.ToString());
    }

    private static string? Architecture() => RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => "x86_64",
        System.Runtime.InteropServices.Architecture.Arm64 => "aarch64",
        System.Runtime.InteropServices.Architecture.X86 => "x86",
        System.Runtime.InteropServices.Architecture.Arm => "arm",
        _ => null,
    };

    private static string? KernelRelease()
    {
        if (OperatingSystem.IsWindows()) return null;
        try
        {
            return File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}

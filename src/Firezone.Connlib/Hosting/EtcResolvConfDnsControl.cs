using System.Net;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Hosting;

/// <summary>
/// <c>etc-resolv-conf</c> (hosts-and-tun.md §7.1): the file must be a regular file (not a symlink); it is backed up
/// atomically to <c>&lt;path&gt;.before-firezone</c> and rewritten in place (a container's bind-mounted resolv.conf
/// cannot be renamed over) with the magic header and the tunnel's servers.
/// </summary>
/// <remarks>
/// Deliberate difference (upstream quirk fixed): upstream's revert copies the backup over the file whenever a backup
/// exists — and the backup is kept — so every start overwrote a resolv.conf that the user (or DHCP) had changed since
/// the last run with that old backup. Here revert restores only a file that still starts with the magic header (i.e.
/// one we wrote); a file without it is left alone. The backup is kept as upstream keeps it (a power loss may roll the
/// restore back). For the same reason the system resolvers come from the backup only while the live file is ours.
/// </remarks>
internal sealed class EtcResolvConfDnsControl(DnsControlOptions options, ILogger logger) : DnsControl
{
    private readonly string _path = options.ResolvConfPath;
    private readonly string _backup = options.EffectiveBackupPath;

    public override DnsControlMethod Method => DnsControlMethod.EtcResolvConf;

    public override void Deactivate()
    {
        try
        {
            if (!File.Exists(_path))
            {
                return;
            }

            EnsureRegularFile();
            if (!IsOurs(File.ReadAllText(_path)))
            {
                return;
            }

            if (!File.Exists(_backup))
            {
                HostingLog.NoResolvConfBackup(logger, _path, _backup);
                return;
            }

            WriteInPlace(_path, File.ReadAllText(_backup));
            HostingLog.ResolvConfReverted(logger, _path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DnsControlException($"Failed to restore `{_path}` from `{_backup}`: {e.Message}", e);
        }
    }

    public override void SetDns(IReadOnlyList<IPAddress> servers)
    {
        ArgumentNullException.ThrowIfNull(servers);
        if (servers.Count == 0)
        {
            HostingLog.EmptyDnsConfig(logger, _path);
            return;
        }

        try
        {
            EnsureRegularFile();
            string text = File.ReadAllText(_path);
            if (IsOurs(text))
            {
                HostingLog.ResolvConfLeftByCrash(logger, _path);
                Deactivate();
                text = File.ReadAllText(_path);
                if (IsOurs(text))
                {
                    throw new DnsControlException($"`{_path}` still carries Firezone's header after reverting it (no backup at `{_backup}`)");
                }
            }

            string temporary = _backup + ".tmp";
            File.WriteAllText(temporary, text);
            File.Move(temporary, _backup, overwrite: true);
            WriteInPlace(_path, ResolvConf.Rewrite(text, servers, _backup));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DnsControlException($"Failed to rewrite `{_path}`: {e.Message}", e);
        }
    }

    public override IReadOnlyList<IPAddress> GetSystemResolvers()
    {
        try
        {
            if (!File.Exists(_path))
            {
                return [];
            }

            string live = File.ReadAllText(_path);
            return ResolvConf.Nameservers(IsOurs(live) && File.Exists(_backup) ? File.ReadAllText(_backup) : live);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DnsControlException($"Failed to read `{_path}`: {e.Message}", e);
        }
    }

    private static bool IsOurs(string text) => text.StartsWith(ResolvConf.MagicHeader, StringComparison.Ordinal);

    private void EnsureRegularFile()
    {
        var info = new FileInfo(_path);
        if (info.LinkTarget is not null || !info.Exists || (info.Attributes & FileAttributes.Directory) != 0)
        {
            throw new DnsControlException($"File `{_path}` is not a regular file, cannot use it to control DNS");
        }
    }

    private static void WriteInPlace(string path, string text)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        stream.Write(bytes);
        stream.SetLength(bytes.Length);
        stream.Flush(flushToDisk: true);
    }
}

using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Connlib.Hosting;

/// <summary>
/// Points the system's DNS at the tunnel's DNS servers (the sentinels) and back (hosts-and-tun.md §7.1). Create one
/// with <see cref="Create"/>, call <see cref="Deactivate"/> first thing at startup (crash recovery), <see cref="SetDns"/>
/// on every interface configuration, and dispose it on exit (which deactivates).
/// </summary>
public abstract class DnsControl : IDisposable
{
    private bool _disposed;

    /// <summary>The method this instance implements.</summary>
    public abstract DnsControlMethod Method { get; }

    /// <summary>
    /// A controller for <paramref name="method"/>. For <see cref="DnsControlMethod.SystemdResolved"/>
    /// <see cref="DnsControlOptions.ResolvectlPath"/> must name an existing program (a bare name is searched on <c>PATH</c>).
    /// </summary>
    /// <exception cref="DnsControlException"><c>resolvectl</c> is not found.</exception>
    public static DnsControl Create(DnsControlMethod method, DnsControlOptions? options = null, ILogger? logger = null)
    {
        options ??= new DnsControlOptions();
        logger ??= NullLogger.Instance;
        return method switch
        {
            DnsControlMethod.Disabled => new DisabledDnsControl(options),
            DnsControlMethod.EtcResolvConf => new EtcResolvConfDnsControl(options, logger),
            DnsControlMethod.SystemdResolved => new SystemdResolvedDnsControl(options, logger),
            _ => throw new ArgumentOutOfRangeException(nameof(method), method, null),
        };
    }

    /// <summary>Undoes what <see cref="SetDns"/> did (or a crashed earlier run left behind).</summary>
    /// <exception cref="DnsControlException">The revert failed.</exception>
    public abstract void Deactivate();

    /// <summary>Makes <paramref name="servers"/> the system's DNS servers. An empty list leaves the system unchanged (warning).</summary>
    /// <exception cref="DnsControlException">The change failed.</exception>
    public abstract void SetDns(IReadOnlyList<IPAddress> servers);

    /// <summary>The DNS servers the system used before Firezone (the tunnel forwards non-resource queries to them).</summary>
    public abstract IReadOnlyList<IPAddress> GetSystemResolvers();

    /// <summary>Drops cached answers after the resources changed (systemd-resolved only; elsewhere nothing).</summary>
    public virtual void FlushCache()
    {
    }

    /// <summary>Deactivates (errors are swallowed: nothing else can be done on exit) once.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Deactivates on the first dispose.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (_disposed || !disposing)
        {
            return;
        }

        _disposed = true;
        try
        {
            Deactivate();
        }
        catch (DnsControlException)
        {
        }
    }

    /// <summary>Parses one address as upstream does: IPv6 scope ids dropped; null when not an address.</summary>
    internal static IPAddress? ParseServer(string text)
    {
        if (!TryParseStrict(text, out var address))
        {
            return null;
        }

        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && address.ScopeId != 0)
        {
            address = new IPAddress(address.GetAddressBytes());
        }

        return address;
    }

    /// <summary>
    /// An address in its usual text form only, as Rust's <c>IpAddr</c> parses: dotted-quad IPv4 or IPv6 (with an optional
    /// <c>%scope</c>). <see cref="IPAddress.TryParse(string?, out IPAddress?)"/> alone also takes "2" as 0.0.0.2.
    /// </summary>
    internal static bool TryParseStrict(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        if (text.Contains(':', StringComparison.Ordinal))
        {
            return IPAddress.TryParse(text, out address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        }

        string[] parts = text.Split('.');
        return parts.Length == 4 && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit))
            && IPAddress.TryParse(text, out address);
    }
}

/// <summary>Where a <see cref="DnsControl"/> acts (injectable so tests never touch the real system).</summary>
public sealed class DnsControlOptions
{
    /// <summary>The resolv.conf to control. Default <c>/etc/resolv.conf</c>.</summary>
    public string ResolvConfPath { get; init; } = "/etc/resolv.conf";

    /// <summary>The backup: <see cref="ResolvConfPath"/> + <c>.before-firezone</c> unless set.</summary>
    public string? BackupPath { get; init; }

    /// <summary>The TUN interface systemd-resolved configures. Default <c>tun-firezone</c>.</summary>
    public string InterfaceName { get; init; } = "tun-firezone";

    /// <summary>The resolvectl program (a bare name is searched on <c>PATH</c>). Default <c>resolvectl</c>.</summary>
    public string ResolvectlPath { get; init; } = "resolvectl";

    internal string EffectiveBackupPath => BackupPath ?? ResolvConfPath + ".before-firezone";
}

/// <summary>Controlling the system's DNS failed.</summary>
public sealed class DnsControlException : Exception
{
    /// <summary>Creates the exception with its message.</summary>
    public DnsControlException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception without a message.</summary>
    public DnsControlException()
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public DnsControlException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary><c>disabled</c>: nothing is changed; the system resolvers come from resolv.conf.</summary>
internal sealed class DisabledDnsControl(DnsControlOptions options) : DnsControl
{
    public override DnsControlMethod Method => DnsControlMethod.Disabled;

    public override void Deactivate()
    {
    }

    public override void SetDns(IReadOnlyList<IPAddress> servers)
    {
    }

    public override IReadOnlyList<IPAddress> GetSystemResolvers() =>
        File.Exists(options.ResolvConfPath) ? ResolvConf.Nameservers(File.ReadAllText(options.ResolvConfPath)) : [];
}

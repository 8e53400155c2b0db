namespace Firezone.Connlib.Hosting;

/// <summary>How the headless client points the system's DNS at the tunnel (<c>--dns-control</c>, hosts-and-tun.md §7.1).</summary>
public enum DnsControlMethod
{
    /// <summary><c>disabled</c>: the system's DNS is left alone.</summary>
    Disabled,

    /// <summary><c>etc-resolv-conf</c>: <c>/etc/resolv.conf</c> is backed up and rewritten with the tunnel's DNS servers.</summary>
    EtcResolvConf,

    /// <summary><c>systemd-resolved</c> (upstream's default): the TUN link gets the DNS servers and the <c>~.</c> domain through <c>resolvectl</c>.</summary>
    SystemdResolved,
}

/// <summary>The command-line names of <see cref="DnsControlMethod"/>.</summary>
public static class DnsControlMethodNames
{
    /// <summary>The accepted values, as upstream spells them.</summary>
    public static IReadOnlyList<string> All { get; } = ["disabled", "etc-resolv-conf", "systemd-resolved"];

    /// <summary>Parses <c>disabled</c>, <c>etc-resolv-conf</c> or <c>systemd-resolved</c> (exact spelling).</summary>
    public static bool TryParse(string? text, out DnsControlMethod method)
    {
        (bool ok, method) = text switch
        {
            "disabled" => (true, DnsControlMethod.Disabled),
            "etc-resolv-conf" => (true, DnsControlMethod.EtcResolvConf),
            "systemd-resolved" => (true, DnsControlMethod.SystemdResolved),
            _ => (false, DnsControlMethod.Disabled),
        };
        return ok;
    }

    /// <summary>The command-line name of <paramref name="method"/>.</summary>
    public static string ToName(DnsControlMethod method) => method switch
    {
        DnsControlMethod.Disabled => "disabled",
        DnsControlMethod.EtcResolvConf => "etc-resolv-conf",
        DnsControlMethod.SystemdResolved => "systemd-resolved",
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, null),
    };
}

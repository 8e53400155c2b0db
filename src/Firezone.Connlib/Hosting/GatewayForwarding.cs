using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Connlib.Hosting;

/// <summary>
/// Optional set-up of what upstream's gateway expects its environment to provide (hosts-and-tun.md §7.2, §8): the
/// sysctls <c>net.ipv4.ip_forward=1</c>, <c>net.ipv4.conf.all.src_valid_mark=1</c>, <c>net.ipv6.conf.all.disable_ipv6=0</c>,
/// <c>net.ipv6.conf.{all,default}.forwarding=1</c>, and forwarding plus masquerading for the TUN's traffic. Upstream
/// does this in <c>docker-init-gateway.sh</c> with iptables (<c>FORWARD -i/-o tun-firezone -j ACCEPT</c>,
/// <c>POSTROUTING -o e+/w+ -j MASQUERADE</c>); here one nftables table <c>inet firezone-gateway</c> accepts forwarding
/// from and to the TUN and masquerades packets from the client tunnel-IP pools (<c>100.64.0.0/11</c>,
/// <c>fd00:2021:1111::/107</c>) leaving through any other interface (not only <c>e*</c>/<c>w*</c>).
/// </summary>
/// <remarks>
/// Off by default (the gateway's <c>--setup-forwarding</c>): the gateway never configures forwarding unless asked, as
/// upstream. <see cref="Dispose"/> removes the nftables table; the sysctls stay set (other services may rely on
/// forwarding, and upstream's scripts never undo them either). Needs CAP_NET_ADMIN and the <c>nft</c> program.
/// </remarks>
public sealed class GatewayForwarding : IDisposable
{
    /// <summary>The nftables table this class owns.</summary>
    public const string TableName = "firezone-gateway";

    private readonly string _nft;
    private readonly ILogger _logger;
    private bool _installed;

    private GatewayForwarding(string nft, ILogger logger)
    {
        _nft = nft;
        _logger = logger;
    }

    /// <summary>The sysctls set, as (name, value), in order.</summary>
    public static IReadOnlyList<(string Name, string Value)> Sysctls { get; } =
    [
        ("net.ipv4.ip_forward", "1"),
        ("net.ipv4.conf.all.src_valid_mark", "1"),
        ("net.ipv6.conf.all.disable_ipv6", "0"),
        ("net.ipv6.conf.all.forwarding", "1"),
        ("net.ipv6.conf.default.forwarding", "1"),
    ];

    /// <summary>The nftables ruleset for <paramref name="interfaceName"/> (replaces an earlier copy of the table atomically).</summary>
    public static string Ruleset(string interfaceName)
    {
        ArgumentNullException.ThrowIfNull(interfaceName);
        return $$"""
            add table inet {{TableName}}
            delete table inet {{TableName}}
            table inet {{TableName}} {
              chain forward {
                type filter hook forward priority filter; policy accept;
                iifname "{{interfaceName}}" accept
                oifname "{{interfaceName}}" accept
              }
              chain postrouting {
                type nat hook postrouting priority srcnat; policy accept;
                ip saddr 100.64.0.0/11 oifname != "{{interfaceName}}" masquerade
                ip6 saddr fd00:2021:1111::/107 oifname != "{{interfaceName}}" masquerade
              }
            }

            """;
    }

    /// <summary>
    /// Sets the sysctls (under <paramref name="procSysRoot"/>, normally <c>/proc/sys</c>) and installs the nftables table
    /// for <paramref name="interfaceName"/>. Sysctls and rules apply to the network namespace of the calling thread.
    /// </summary>
    /// <exception cref="InvalidOperationException">A sysctl cannot be written, <c>nft</c> is missing or refuses the ruleset.</exception>
    public static GatewayForwarding Apply(string interfaceName = "tun-firezone", string procSysRoot = "/proc/sys", string nft = "nft", ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(interfaceName);
        logger ??= NullLogger.Instance;
        foreach (var (name, value) in Sysctls)
        {
            string path = Path.Combine(procSysRoot, name.Replace('.', '/'));
            try
            {
                File.WriteAllText(path, value + "\n");
                HostingLog.SysctlSet(logger, name, value);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException($"Failed to set sysctl {name}={value} ({path}): {e.Message}", e);
            }
        }

        string program = HostCommand.Find(nft) ?? throw new InvalidOperationException($"`{nft}` not found: forwarding set-up needs nftables");
        var (code, _, error) = HostCommand.Run(program, ["-f", "-"], Ruleset(interfaceName));
        if (code != 0)
        {
            throw new InvalidOperationException($"nft refused the forwarding rules (exit code {code}): {error.Trim()}");
        }

        HostingLog.NftablesInstalled(logger, TableName, interfaceName);
        return new GatewayForwarding(program, logger) { _installed = true };
    }

    /// <summary>Removes the nftables table (the sysctls stay).</summary>
    public void Dispose()
    {
        if (!_installed)
        {
            return;
        }

        _installed = false;
        var (code, _, error) = HostCommand.Run(_nft, ["delete", "table", "inet", TableName]);
        if (code == 0)
        {
            HostingLog.NftablesRemoved(_logger, TableName);
        }
        else
        {
            HostingLog.NftablesRemoveFailed(_logger, TableName, error.Trim());
        }
    }
}

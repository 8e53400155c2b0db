using System.Net;
using Firezone.Connlib.Hosting;
using Firezone.Tun.Tests.Linux;
using Microsoft.Extensions.Logging.Abstractions;

namespace Firezone.Hosts.Tests.Hosting;

/// <summary>The client context on a real <c>tun-firezone</c> (hosts-and-tun.md §2.2–§2.3) inside a network namespace created for the test.</summary>
public sealed class LinuxHostTunTests
{
    [Fact]
    public void Interface_config_and_routes_reach_the_kernel_through_the_client_context()
    {
        NetNamespace.SkipUnlessAvailable();
        using var ns = NetNamespace.Create();
        ns.Run(() =>
        {
            using var tun = new LinuxHostTun();
            using var dns = DnsControl.Create(DnsControlMethod.Disabled, new DnsControlOptions { ResolvConfPath = "/nonexistent/resolv.conf" });
            using var signals = new HostSignals(handleHangup: false);
            using var context = new ClientTunnelContext(NullLoggerFactory.Instance, tun, dns, new SystemdNotify(null), signals, false, null);
            Assert.Same(context.OpenTun(), context.OpenTun());
            context.SetInterface(IPAddress.Parse("100.64.0.7"), IPAddress.Parse("fd00:2021:1111::7"), [IPAddress.Parse("100.100.111.1")]);
            context.SetRoutes([IPNetwork.Parse("100.96.0.0/11"), IPNetwork.Parse("198.19.4.0/24")]);
            string addresses = ns.IpIn("addr show dev tun-firezone");
            Assert.Contains("inet 100.64.0.7/32", addresses, StringComparison.Ordinal);
            Assert.Contains("inet6 fd00:2021:1111::7/128", addresses, StringComparison.Ordinal);
            Assert.Contains("mtu 1280", ns.IpIn("link show dev tun-firezone"), StringComparison.Ordinal);
            string routes = ns.IpIn("route show table 539098368");
            Assert.Contains("100.96.0.0/11 dev tun-firezone", routes, StringComparison.Ordinal);
            Assert.Contains("198.19.4.0/24 dev tun-firezone", routes, StringComparison.Ordinal);
            Assert.True(context.Ready.IsCompletedSuccessfully);
        });
        Assert.DoesNotContain("tun-firezone", ns.IpIn("link show"), StringComparison.Ordinal); // disposing destroys the interface
    }
}

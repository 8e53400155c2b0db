using System.Net;
using Firezone.Connlib.Client;
using Firezone.Connlib.Dns;
using Firezone.Connlib.Model;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Tun.Packets;
using static Firezone.Connlib.Tests.Client.ClientTestKit;
using Ar = ARSoft.Tools.Net.Dns;

namespace Firezone.Connlib.Tests.Client;

/// <summary>
/// The client never sends a packet towards a gateway for a resource that is not active: random sequences of adding,
/// removing and disabling CIDR, DNS and internet resources interleaved with DNS queries and packets, against a
/// reference model of the active set (not the client's own tables). Traffic runs over a real WireGuard connection.
/// </summary>
public sealed class ClientSecurityProperties
{
    private static readonly string[] Networks = ["198.19.1.0/24", "198.19.2.0/24", "198.19.0.0/16", "198.19.3.0/25"];
    private const int InternetId = 5;
    private const int DnsId = 6;
    private static readonly IPAddress Sentinel = IPAddress.Parse("100.100.111.1");

    /// <summary>
    /// (kind, resource index, byte): 0 add a CIDR resource, 1 remove one (or the internet / DNS resource), 2 disable a
    /// set (bits of the byte), 3 a packet, 4 add the internet resource, 5 add the DNS resource, 6 resolve a name.
    /// </summary>
    public static Arbitrary<(int Kind, int Index, int Byte)[]> Operations() =>
        Gen.ArrayOf(
                from kind in Gen.Frequency((3, Gen.Constant(0)), (2, Gen.Constant(1)), (2, Gen.Constant(2)), (8, Gen.Constant(3)),
                    (1, Gen.Constant(4)), (2, Gen.Constant(5)), (2, Gen.Constant(6)))
                from index in Gen.Choose(0, Networks.Length - 1)
                from b in Gen.Choose(0, 255)
                select (kind, index, b))
            .ToArbitrary();

    [Property(MaxTest = 1_000, Arbitrary = [typeof(ClientSecurityProperties)])]
    public void No_packet_reaches_a_gateway_for_a_resource_that_is_disabled_removed_or_never_added((int Kind, int Index, int Byte)[] operations)
    {
        using var world = new ClientWithNodeGateway(Gid(1), SiteOf(1).Id);
        world.Client.UpdateInterfaceConfig(new InterfaceConfig(TunnelV4, TunnelV6, [new IPEndPoint(IPAddress.Parse("198.18.53.53"), 53)]));
        var added = new HashSet<int>();
        var disabled = new HashSet<int>();
        var proxyIps = new List<IPAddress>(); // every proxy IP the client handed out (they stay assigned forever)
        foreach (var (kind, index, b) in operations.Take(25))
        {
            switch (kind)
            {
                case 0:
                    world.Client.AddResource(Cidr(index + 1, Networks[index]), world.Now);
                    added.Add(index + 1);
                    break;
                case 1:
                    int removed = (b % 3) switch { 0 => index + 1, 1 => InternetId, _ => DnsId };
                    world.Client.RemoveResource(Rid(removed), world.Now);
                    added.Remove(removed);
                    break;
                case 2:
                    var set = Enumerable.Range(1, DnsId).Where(i => (b & (1 << (i - 1))) != 0).ToList();
                    world.Client.SetDisabledResources(set.Select(Rid), world.Now);
                    disabled = set.ToHashSet();
                    break;
                case 4:
                    world.Client.AddResource(Internet(InternetId), world.Now);
                    added.Add(InternetId);
                    break;
                case 5:
                    world.Client.AddResource(DnsRes(DnsId, "*.dns.test"), world.Now);
                    added.Add(DnsId);
                    break;
                case 6:
                    proxyIps.AddRange(Resolve(world, $"n{index}.dns.test"));
                    break;
                default:
                    var destination = Destination(index, b, proxyIps);
                    bool allowed = added.Where(id => !disabled.Contains(id)).Any(id =>
                        id == InternetId
                        || (id == DnsId && proxyIps.Contains(destination))
                        || (id < InternetId && IPNetwork.Parse(Networks[id - 1]).Contains(destination)));
                    int before = world.AtGateway.Count;
                    world.SendFromClient(Udp(destination));
                    world.Run(TimeSpan.FromMilliseconds(200));
                    for (int i = before; i < world.AtGateway.Count; i++)
                    {
                        Assert.True(allowed, $"a packet to {destination} reached the gateway; active: {string.Join(",", added.Except(disabled))}");
                        Assert.Equal(IpParseError.None, IpPacket.TryParse(world.AtGateway[i], out var ip));
                        Assert.Equal(destination, ip.Destination);
                    }

                    break;
            }
        }
    }

    /// <summary>A destination inside one of the CIDR networks, outside all of them, or a proxy IP handed out earlier.</summary>
    private static IPAddress Destination(int index, int b, List<IPAddress> proxyIps)
    {
        if (b % 3 == 0 && proxyIps.Count > 0)
        {
            return proxyIps[b % proxyIps.Count];
        }

        var bytes = IPNetwork.Parse(Networks[index]).BaseAddress.GetAddressBytes();
        bytes[3] = (byte)b;
        if (b % 5 == 0)
        {
            bytes[1] = 18; // outside every CIDR resource
        }

        return new IPAddress(bytes);
    }

    private static List<IPAddress> Resolve(ClientWithNodeGateway world, string name)
    {
        var query = Firezone.Connlib.Tests.Dns.DnsTestMessages.Query(name, DnsRecordType.A);
        var p = new byte[60 + query.Length];
        world.SendFromClient(p[..PacketBuilder.Udp(p, TunnelV4, Sentinel, 5353, 53, query)]);
        var result = new List<IPAddress>();
        while (world.Client.PollPacket() is { } answer)
        {
            var bytes = answer.ToArray();
            if (IpPacket.TryParse(bytes, out var ip) == IpParseError.None && ip.TryGetUdp(out var udp))
            {
                result.AddRange(Firezone.Connlib.Tests.Dns.DnsTestMessages.Parse(udp.Payload).AnswerRecords.OfType<Ar.ARecord>().Select(r => r.Address));
            }
        }

        while (world.Client.PollDnsQuery() is not null)
        {
            // not a resource name now: the host would resolve it; nothing to model
        }

        return result;
    }
}

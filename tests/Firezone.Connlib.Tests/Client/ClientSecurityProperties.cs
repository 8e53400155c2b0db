using System.Net;
using Firezone.Connlib.Client;
using Firezone.Connlib.Model;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Firezone.Tun.Packets;
using static Firezone.Connlib.Tests.Client.ClientTestKit;

namespace Firezone.Connlib.Tests.Client;

/// <summary>
/// The client never sends a packet towards a gateway for a resource that is not active: random sequences of adding,
/// removing and disabling CIDR and internet resources interleaved with packets, against a reference model of the
/// active set (not the client's own tables). Traffic runs over a real WireGuard connection.
/// </summary>
public sealed class ClientSecurityProperties
{
    private static readonly string[] Networks = ["198.19.1.0/24", "198.19.2.0/24", "198.19.0.0/16", "198.19.3.0/25"];
    private const int InternetId = 5;

    /// <summary>(kind, resource index, byte): 0 add, 1 remove, 2 disable set (bits of the byte), 3 packet, 4 add the internet resource.</summary>
    public static Arbitrary<(int Kind, int Index, int Byte)[]> Operations() =>
        Gen.ArrayOf(
                from kind in Gen.Frequency((3, Gen.Constant(0)), (2, Gen.Constant(1)), (2, Gen.Constant(2)), (8, Gen.Constant(3)), (1, Gen.Constant(4)))
                from index in Gen.Choose(0, Networks.Length - 1)
                from b in Gen.Choose(0, 255)
                select (kind, index, b))
            .ToArbitrary();

    [Property(MaxTest = 250, Arbitrary = [typeof(ClientSecurityProperties)])]
    public void No_packet_reaches_a_gateway_unless_an_active_resource_covers_its_destination((int Kind, int Index, int Byte)[] operations)
    {
        using var world = new ClientWithNodeGateway(Gid(1), SiteOf(1).Id);
        var added = new HashSet<int>();
        var disabled = new HashSet<int>();
        foreach (var (kind, index, b) in operations.Take(30))
        {
            switch (kind)
            {
                case 0:
                    world.Client.AddResource(Cidr(index + 1, Networks[index]), world.Now);
                    added.Add(index + 1);
                    break;
                case 1:
                    int removed = b % 2 == 0 ? index + 1 : InternetId;
                    world.Client.RemoveResource(Rid(removed), world.Now);
                    added.Remove(removed);
                    break;
                case 2:
                    var set = Enumerable.Range(1, InternetId).Where(i => (b & (1 << (i - 1))) != 0).ToList();
                    world.Client.SetDisabledResources(set.Select(Rid), world.Now);
                    disabled = set.ToHashSet();
                    break;
                case 4:
                    world.Client.AddResource(Internet(InternetId), world.Now);
                    added.Add(InternetId);
                    break;
                default:
                    var network = IPNetwork.Parse(Networks[index]);
                    var bytes = network.BaseAddress.GetAddressBytes();
                    bytes[3] = (byte)b;
                    if (b % 5 == 0)
                    {
                        bytes[1] = 18; // outside every CIDR resource
                    }

                    var destination = new IPAddress(bytes);
                    bool allowed = added.Where(id => !disabled.Contains(id)).Any(id =>
                        id == InternetId || IPNetwork.Parse(Networks[id - 1]).Contains(destination));
                    int before = world.AtGateway.Count;
                    world.SendFromClient(Udp(destination));
                    world.Run(TimeSpan.FromMilliseconds(300));
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
}

using System.Net;

namespace Firezone.Testing;

/// <summary>
/// A NAT with one public IP, translating for the hosts of one LAN (RFC 4787 behaviours, see <see cref="NatType"/>):
/// public ports are handed out from 40000 up, one per inside endpoint (one per inside endpoint and destination when
/// symmetric). Mappings never expire. No hairpinning.
/// </summary>
/// <param name="type">The mapping and filtering behaviour.</param>
/// <param name="publicIp">The NAT's public address.</param>
public sealed class SimNat(NatType type, IPAddress publicIp)
{
    private readonly Dictionary<(IPEndPoint Inside, IPEndPoint? Dest), Mapping> _byKey = new();
    private readonly Dictionary<int, Mapping> _byPort = new();
    private int _nextPort = 40000;

    /// <summary>The mapping and filtering behaviour.</summary>
    public NatType Type { get; } = type;

    /// <summary>The NAT's public address.</summary>
    public IPAddress PublicIp { get; } = publicIp;

    /// <summary>Outbound translation; creates the mapping and the filter permission when <paramref name="mutate"/>.</summary>
    public IPEndPoint? Outbound(IPEndPoint inside, IPEndPoint dest, bool mutate)
    {
        if (Type == NatType.Blocked)
        {
            return null;
        }

        (IPEndPoint, IPEndPoint?) key = Type == NatType.Symmetric ? (inside, dest) : (inside, null);
        if (!_byKey.TryGetValue(key, out Mapping? m))
        {
            if (!mutate)
            {
                return null;
            }

            m = new Mapping(inside, new IPEndPoint(PublicIp, _nextPort++), Type == NatType.Symmetric ? dest : null);
            _byKey[key] = m;
            _byPort[m.Public.Port] = m;
        }

        if (mutate)
        {
            m.SentTo.Add(dest);
            m.SentToIps.Add(dest.Address);
        }

        return m.Public;
    }

    /// <summary>Inbound translation: the inside endpoint, or null when filtered.</summary>
    public IPEndPoint? Inbound(IPEndPoint from, IPEndPoint publicDest)
    {
        if (Type == NatType.Blocked || !_byPort.TryGetValue(publicDest.Port, out Mapping? m))
        {
            return null;
        }

        bool allowed = Type switch
        {
            NatType.FullCone => true,
            NatType.AddressRestricted => m.SentToIps.Contains(from.Address),
            NatType.PortRestricted => m.SentTo.Contains(from),
            NatType.Symmetric => from.Equals(m.Dest),
            _ => false,
        };
        return allowed ? m.Inside : null;
    }

    private sealed class Mapping(IPEndPoint inside, IPEndPoint @public, IPEndPoint? dest)
    {
        public IPEndPoint Inside { get; } = inside;

        public IPEndPoint Public { get; } = @public;

        public IPEndPoint? Dest { get; } = dest;

        public HashSet<IPEndPoint> SentTo { get; } = new();

        public HashSet<IPAddress> SentToIps { get; } = new();
    }
}

using System.Net;

namespace Firezone.Simulation;

/// <summary>A NAT with one public IP, translating for the hosts of one LAN.</summary>
public sealed class SimNat(NatType type, IPAddress publicIp)
{
    private readonly Dictionary<(IPEndPoint Inside, IPEndPoint? Dest), Mapping> _byKey = new();
    private readonly Dictionary<int, Mapping> _byPort = new();
    private int _nextPort = 40000;

    public NatType Type { get; } = type;

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

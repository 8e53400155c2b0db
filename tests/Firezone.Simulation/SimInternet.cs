using System.Net;

namespace Firezone.Simulation;

/// <summary>
/// A simulated internet on simulated time for whole nodes and relays: hosts on LANs behind NATs (the ICE tests' NAT
/// models) or public, public endpoints owned by servers (relay listening and allocation ports), per-datagram loss and
/// uniform random delay (so reordering happens), a global partition switch and blocked pairs. Deterministic per seed.
/// </summary>
public sealed class SimInternet(int seed, double loss, TimeSpan minDelay, TimeSpan maxDelay)
{
    private readonly Random _rng = new(seed);
    private readonly PriorityQueue<Delivery, (TimeSpan, long)> _queue = new();
    private readonly Dictionary<IPAddress, SimNat> _natsByIp = new();
    private readonly Dictionary<IPEndPoint, (int Actor, SimNat? Nat)> _hosts = new();
    private readonly Dictionary<IPEndPoint, int> _servers = new();
    private readonly HashSet<(IPAddress, IPAddress)> _blocked = new();
    private long _sequence;

    /// <summary>When true every datagram is lost.</summary>
    public bool Partitioned { get; set; }

    public long Sent { get; private set; }

    public long Delivered { get; private set; }

    public double Loss { get; set; } = loss;

    /// <summary>Drops a datagram (source as sent, destination, bytes) when it returns true: targeted loss for tests.</summary>
    public Func<IPEndPoint, IPEndPoint, ReadOnlyMemory<byte>, bool>? Drop { get; set; }

    /// <summary>Drops everything between two IPs (e.g. the direct path between two public hosts).</summary>
    public void Block(IPAddress a, IPAddress b)
    {
        _blocked.Add((a, b));
        _blocked.Add((b, a));
    }

    public void Unblock(IPAddress a, IPAddress b)
    {
        _blocked.Remove((a, b));
        _blocked.Remove((b, a));
    }

    public SimNat AddNat(NatType type, IPAddress publicIp)
    {
        var nat = new SimNat(type, publicIp);
        _natsByIp[publicIp] = nat;
        return nat;
    }

    /// <summary>A host endpoint of an actor (a node's socket), behind <paramref name="nat"/> or public (null).</summary>
    public void AddHost(int actor, IPEndPoint host, SimNat? nat) => _hosts[host] = (actor, nat);

    public void RemoveHost(IPEndPoint host) => _hosts.Remove(host);

    /// <summary>A public server endpoint (a relay's listening or allocation port).</summary>
    public void AddServer(int actor, IPEndPoint endPoint) => _servers[endPoint] = actor;

    public void RemoveServer(IPEndPoint endPoint) => _servers.Remove(endPoint);

    public bool HasServer(IPEndPoint endPoint) => _servers.ContainsKey(endPoint);

    /// <summary>Sends a datagram from one of the actor's endpoints.</summary>
    public void Send(int actor, IPEndPoint source, IPEndPoint destination, ReadOnlySpan<byte> payload, TimeSpan now)
    {
        Sent++;
        var hop = Route(actor, source, destination);
        if (hop is null || Partitioned || (Drop is { } drop && drop(source, destination, payload.ToArray())) || _rng.NextDouble() < Loss || _blocked.Contains((hop.Value.From.Address, destination.Address)))
        {
            return; // a lost datagram still opened its NAT mapping (Route ran)
        }

        var delay = minDelay + TimeSpan.FromTicks((long)(_rng.NextDouble() * (maxDelay - minDelay).Ticks));
        _queue.Enqueue(new Delivery(hop.Value.Actor, hop.Value.From, hop.Value.Local, payload.ToArray()), (now + delay, _sequence++));
    }

    public TimeSpan? NextDelivery => _queue.TryPeek(out _, out var p) ? p.Item1 : null;

    public bool TryDeliver(TimeSpan now, out Delivery delivery)
    {
        if (_queue.TryPeek(out delivery!, out var p) && p.Item1 <= now)
        {
            _queue.Dequeue();
            Delivered++;
            return true;
        }

        delivery = null!;
        return false;
    }

    /// <summary>Where a datagram ends up: receiving actor, the source it sees, the local address it arrives on.</summary>
    private (int Actor, IPEndPoint From, IPEndPoint Local)? Route(int actor, IPEndPoint source, IPEndPoint destination)
    {
        IPEndPoint publicSource;
        if (_servers.TryGetValue(source, out int owner))
        {
            if (owner != actor)
            {
                return null;
            }

            publicSource = source;
        }
        else if (_hosts.TryGetValue(source, out var h) && h.Actor == actor)
        {
            if (_hosts.TryGetValue(destination, out var d) && d.Nat is not null && ReferenceEquals(d.Nat, h.Nat))
            {
                return (d.Actor, source, destination); // same LAN
            }

            if (h.Nat is null)
            {
                publicSource = source;
            }
            else
            {
                if (destination.Address.Equals(h.Nat.PublicIp))
                {
                    return null; // no hairpinning
                }

                var mapped = h.Nat.Outbound(source, destination, mutate: true);
                if (mapped is null)
                {
                    return null;
                }

                publicSource = mapped;
            }
        }
        else
        {
            return null;
        }

        if (_servers.TryGetValue(destination, out int server))
        {
            return (server, publicSource, destination);
        }

        if (_natsByIp.TryGetValue(destination.Address, out var nat))
        {
            var inside = nat.Inbound(publicSource, destination);
            return inside is not null && _hosts.TryGetValue(inside, out var ih) ? (ih.Actor, publicSource, inside) : null;
        }

        if (_hosts.TryGetValue(destination, out var pub) && pub.Nat is null)
        {
            return (pub.Actor, publicSource, destination);
        }

        return null;
    }

    public sealed record Delivery(int Actor, IPEndPoint From, IPEndPoint Local, byte[] Payload);
}

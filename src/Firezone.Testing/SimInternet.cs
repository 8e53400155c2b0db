using System.Net;

namespace Firezone.Testing;

/// <summary>
/// A simulated internet on simulated time for whole nodes and relays: hosts on LANs behind NATs (the ICE tests' NAT
/// models) or public, public endpoints owned by servers (relay listening and allocation ports), per-datagram loss and
/// uniform random delay (so reordering happens), a global partition switch and blocked pairs. Deterministic per seed.
/// </summary>
/// <param name="seed">Seeds loss and delay draws: the same seed and inputs give the same deliveries.</param>
/// <param name="loss">Initial <see cref="Loss"/>.</param>
/// <param name="minDelay">Smallest one-way delay.</param>
/// <param name="maxDelay">Largest one-way delay (each datagram draws uniformly between the two).</param>
public sealed class SimInternet(int seed, double loss, TimeSpan minDelay, TimeSpan maxDelay)
{
    private readonly Random _rng = new(seed);
    private readonly PriorityQueue<Delivery, (TimeSpan, long)> _queue = new();
    private readonly Dictionary<IPAddress, SimNat> _natsByIp = new();
    private readonly Dictionary<IPEndPoint, (int Actor, SimNat? Nat)> _hosts = new();
    private readonly Dictionary<IPEndPoint, int> _servers = new();
    private readonly HashSet<(IPAddress, IPAddress)> _blocked = new();
    private readonly HashSet<(IPAddress, SimNat?)> _stale = new();
    private long _sequence;

    /// <summary>When true every datagram is lost.</summary>
    public bool Partitioned { get; set; }

    /// <summary>Datagrams handed to <see cref="Send"/> so far (lost ones included).</summary>
    public long Sent { get; private set; }

    /// <summary>Datagrams handed out by <see cref="TryDeliver"/> so far.</summary>
    public long Delivered { get; private set; }

    /// <summary>Datagrams dropped because their destination IP is stale (it belonged to a removed actor).</summary>
    public long DroppedStale { get; private set; }

    /// <summary>Probability (0–1) that a datagram is lost, drawn per datagram from the seeded generator.</summary>
    public double Loss { get; set; } = loss;

    /// <summary>Drops a datagram (source as sent, destination, bytes) when it returns true: targeted loss for tests.</summary>
    public Func<IPEndPoint, IPEndPoint, ReadOnlyMemory<byte>, bool>? Drop { get; set; }

    /// <summary>Drops everything between two IPs (e.g. the direct path between two public hosts).</summary>
    public void Block(IPAddress a, IPAddress b)
    {
        _blocked.Add((a, b));
        _blocked.Add((b, a));
    }

    /// <summary>Undoes <see cref="Block"/>.</summary>
    public void Unblock(IPAddress a, IPAddress b)
    {
        _blocked.Remove((a, b));
        _blocked.Remove((b, a));
    }

    /// <summary>A NAT of <paramref name="type"/> owning <paramref name="publicIp"/>; put hosts behind it with <see cref="AddHost"/>.</summary>
    public SimNat AddNat(NatType type, IPAddress publicIp)
    {
        var nat = new SimNat(type, publicIp);
        _natsByIp[publicIp] = nat;
        return nat;
    }

    /// <summary>A host endpoint of an actor (a node's socket), behind <paramref name="nat"/> or public (null).</summary>
    /// <param name="actor">Who receives the datagrams (any number the driver chooses, e.g. an index).</param>
    /// <param name="host">The socket's address and port (on the LAN when behind a NAT).</param>
    /// <param name="nat">The NAT in front of it, or null for a public address.</param>
    /// <exception cref="InvalidOperationException">The IP is stale, or another actor already has it on the same LAN (or both public).</exception>
    public void AddHost(int actor, IPEndPoint host, SimNat? nat)
    {
        if (_stale.Contains((host.Address, nat)))
        {
            throw new InvalidOperationException($"{host.Address} is stale: it belonged to a removed actor and is never reused");
        }

        foreach (var (endPoint, owner) in _hosts)
        {
            if (endPoint.Address.Equals(host.Address) && ReferenceEquals(owner.Nat, nat) && owner.Actor != actor)
            {
                throw new InvalidOperationException($"{host.Address} is taken by actor {owner.Actor}");
            }
        }

        _hosts[host] = (actor, nat);
    }

    /// <summary>Closes one socket of a host (e.g. to rebind to another port). Its IP stays the actor's and may be reused by it.</summary>
    public void RemoveHost(IPEndPoint host) => _hosts.Remove(host);

    /// <summary>
    /// Removes every host socket of <paramref name="actor"/> (a host leaves or roams away): its IPs become stale, are
    /// never given out again (<see cref="AddHost"/> refuses them) and datagrams to them are dropped
    /// (<see cref="DroppedStale"/>), like Firezone's routing table in tunnel spec §9.6.
    /// </summary>
    public void RemoveActor(int actor)
    {
        foreach (var (endPoint, owner) in _hosts.Where(h => h.Value.Actor == actor).ToList())
        {
            _hosts.Remove(endPoint);
            _stale.Add((endPoint.Address, owner.Nat));
        }
    }

    /// <summary>True when <paramref name="ip"/> (on the LAN of <paramref name="nat"/>, or public when null) is stale.</summary>
    public bool IsStale(IPAddress ip, SimNat? nat = null) => _stale.Contains((ip, nat));

    /// <summary>A public server endpoint (a relay's listening or allocation port).</summary>
    public void AddServer(int actor, IPEndPoint endPoint) => _servers[endPoint] = actor;

    /// <summary>Removes a server endpoint (a freed allocation, a relay going down).</summary>
    public void RemoveServer(IPEndPoint endPoint) => _servers.Remove(endPoint);

    /// <summary>True when a server owns <paramref name="endPoint"/>.</summary>
    public bool HasServer(IPEndPoint endPoint) => _servers.ContainsKey(endPoint);

    /// <summary>Sends a datagram from one of the actor's endpoints (a socket or server endpoint it owns; others are dropped). Never throws.</summary>
    public void Send(int actor, IPEndPoint source, IPEndPoint destination, ReadOnlySpan<byte> payload, TimeSpan now)
    {
        Sent++;
        if (_stale.Contains((destination.Address, null)))
        {
            DroppedStale++;
            return;
        }

        var hop = Route(actor, source, destination);
        if (hop is null || Partitioned || (Drop is { } drop && drop(source, destination, payload.ToArray())) || _rng.NextDouble() < Loss || _blocked.Contains((hop.Value.From.Address, destination.Address)))
        {
            return; // a lost datagram still opened its NAT mapping (Route ran)
        }

        var delay = minDelay + TimeSpan.FromTicks((long)(_rng.NextDouble() * (maxDelay - minDelay).Ticks));
        _queue.Enqueue(new Delivery(hop.Value.Actor, hop.Value.From, hop.Value.Local, payload.ToArray()), (now + delay, _sequence++));
    }

    /// <summary>When the next queued datagram is due, or null when none is queued.</summary>
    public TimeSpan? NextDelivery => _queue.TryPeek(out _, out var p) ? p.Item1 : null;

    /// <summary>Dequeues the next datagram due at or before <paramref name="now"/> (in due order; equal times in send order).</summary>
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

    /// <summary>A datagram arriving: the receiving actor, the source it sees (after NAT), the local endpoint it arrives on, the bytes.</summary>
    /// <param name="Actor">The receiving actor.</param>
    /// <param name="From">The source the receiver sees (after NAT).</param>
    /// <param name="Local">The receiver's endpoint the datagram arrives on.</param>
    /// <param name="Payload">The datagram.</param>
    public sealed record Delivery(int Actor, IPEndPoint From, IPEndPoint Local, byte[] Payload);
}

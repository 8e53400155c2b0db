using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Firezone.Snownet;
using Firezone.Snownet.Turn;

namespace Firezone.Testing;

/// <summary>
/// The real <see cref="TurnServer"/> as a relay inside the simulation: its listening endpoints (IPv4 and/or IPv6, port
/// 3478) and every allocation port it opens are public server endpoints of the <see cref="SimInternet"/>. A reboot
/// makes a new server with a new secret (all allocations lost).
/// </summary>
public sealed class SimRelay
{
    /// <summary>The relay's listening port (allocation ports are 49152–65535).</summary>
    public const int ListenPort = 3478;

    private readonly SimInternet _net;
    private readonly int _actor;
    private readonly int _seed;
    private readonly HashSet<IPEndPoint> _allocationEndPoints = new();
    private int _generation;

    private readonly Microsoft.Extensions.Logging.ILogger? _logger;

    /// <summary>A relay on <paramref name="net"/> listening on <paramref name="v4"/> and/or <paramref name="v6"/> port <see cref="ListenPort"/>.</summary>
    /// <param name="net">The simulated internet it sits on.</param>
    /// <param name="actor">Its actor number on <paramref name="net"/> (deliveries to it carry this number).</param>
    /// <param name="id">The relay id the portal hands out.</param>
    /// <param name="v4">Public IPv4 address, or null.</param>
    /// <param name="v6">Public IPv6 address, or null.</param>
    /// <param name="seed">Seeds the server's randomness (secret, nonces, ports) and that of every reboot.</param>
    /// <param name="logger">The server's log.</param>
    public SimRelay(SimInternet net, int actor, RelayId id, IPAddress? v4, IPAddress? v6, int seed, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        _logger = logger;
        _net = net;
        _actor = actor;
        _seed = seed;
        Id = id;
        V4 = v4 is null ? null : new IPEndPoint(v4, ListenPort);
        V6 = v6 is null ? null : new IPEndPoint(v6, ListenPort);
        Server = NewServer();
        Listen(true);
    }

    /// <summary>The relay id.</summary>
    public RelayId Id { get; }

    /// <summary>The IPv4 listening endpoint, or null.</summary>
    public IPEndPoint? V4 { get; }

    /// <summary>The IPv6 listening endpoint, or null.</summary>
    public IPEndPoint? V6 { get; }

    /// <summary>The real TURN server inside (replaced by <see cref="Reboot"/>).</summary>
    public TurnServer Server { get; private set; }

    /// <summary>Its actor number on the simulated internet.</summary>
    public int Actor => _actor;

    /// <summary>False while the relay is down (it drops everything).</summary>
    public bool Up { get; private set; } = true;

    /// <summary>The relay entry the portal hands out (credentials valid for a day of wall-clock time).</summary>
    /// <param name="utcNow">Wall-clock now (the username's expiry is one day later).</param>
    /// <param name="salt">The username's salt (the portal uses the client or gateway id).</param>
    public TurnRelay Entry(DateTimeOffset utcNow, string salt)
    {
        ulong expiry = (ulong)utcNow.ToUnixTimeSeconds() + 86_400;
        string e = expiry.ToString(CultureInfo.InvariantCulture);
        // The portal's credentials (relay spec): username "<expiry>:<salt>", password = unpadded base64 of
        // SHA-256("<expiry>:<secret>:<salt>").
        string password = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes($"{e}:{Server.AuthSecret}:{salt}"))).TrimEnd('=');
        return new TurnRelay(Id, V4, V6, $"{e}:{salt}", password);
    }

    /// <summary>Loses every allocation and comes back with a new secret (old credentials no longer work).</summary>
    public void Reboot()
    {
        foreach (var endPoint in _allocationEndPoints)
        {
            _net.RemoveServer(endPoint);
        }

        _allocationEndPoints.Clear();
        _generation++;
        Server = NewServer();
    }

    /// <summary>Takes the relay down (it stops listening, its allocation ports vanish, it drops everything) or back up with its state.</summary>
    public void SetUp(bool up)
    {
        Up = up;
        Listen(up);
        if (!up)
        {
            foreach (var endPoint in _allocationEndPoints)
            {
                _net.RemoveServer(endPoint);
            }
        }
        else
        {
            foreach (var endPoint in _allocationEndPoints)
            {
                _net.AddServer(_actor, endPoint);
            }
        }
    }

    private TurnServer NewServer()
    {
        var random = new Random((_seed * 31) + _generation);
        return new TurnServer(new TurnServerOptions
        {
            PublicIPv4 = V4?.Address,
            PublicIPv6 = V6?.Address,
            ListenPort = ListenPort,
            LowestPort = 49152,
            HighestPort = 65535,
            Random = span => random.NextBytes(span),
        }, _logger);
    }

    private void Listen(bool on)
    {
        foreach (var endPoint in new[] { V4, V6 })
        {
            if (endPoint is null)
            {
                continue;
            }

            if (on)
            {
                _net.AddServer(_actor, endPoint);
            }
            else
            {
                _net.RemoveServer(endPoint);
            }
        }
    }

    /// <summary>Handles a datagram delivered to this relay's actor (listening port: client input; other ports: peer traffic) and sends what results.</summary>
    public void Receive(SimInternet.Delivery delivery, TimeSpan now, DateTimeOffset utcNow)
    {
        if (!Up)
        {
            return;
        }

        if (delivery.Local.Port == ListenPort)
        {
            if (Server.HandleClientInput(delivery.Payload, delivery.From, now, utcNow) is { } toPeer)
            {
                var source = new IPEndPoint(Relayed(toPeer.Peer.AddressFamily), toPeer.AllocationPort);
                _net.Send(_actor, source, toPeer.Peer, delivery.Payload.AsSpan(toPeer.PayloadOffset, toPeer.PayloadLength), now);
            }
        }
        else if (Server.HandlePeerTraffic(delivery.Payload, delivery.From, delivery.Local.Port, now) is { } toClient)
        {
            var frame = new byte[4 + delivery.Payload.Length];
            BinaryPrimitives.WriteUInt16BigEndian(frame, toClient.Channel);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)delivery.Payload.Length);
            delivery.Payload.CopyTo(frame, 4);
            _net.Send(_actor, ListenFor(toClient.Client.AddressFamily), toClient.Client, frame, now);
        }

        Drain(now);
    }

    /// <summary>When the server next wants <see cref="HandleTimeout"/> (null while down or idle).</summary>
    public TimeSpan? PollTimeout() => Up ? Server.PollTimeout() : null;

    /// <summary>Runs the server's timers and sends what results.</summary>
    public void HandleTimeout(TimeSpan now)
    {
        Server.HandleTimeout(now);
        Drain(now);
    }

    private void Drain(TimeSpan now)
    {
        while (Server.TryPollCommand(out var command))
        {
            switch (command.Kind)
            {
                case TurnServerCommandKind.SendMessage:
                    _net.Send(_actor, ListenFor(command.Destination!.AddressFamily), command.Destination, command.Payload, now);
                    break;
                case TurnServerCommandKind.CreateAllocation:
                    var endPoint = new IPEndPoint(Relayed(command.Family), command.Port);
                    _allocationEndPoints.Add(endPoint);
                    _net.AddServer(_actor, endPoint);
                    break;
                case TurnServerCommandKind.FreeAllocation:
                    var freed = new IPEndPoint(Relayed(command.Family), command.Port);
                    _allocationEndPoints.Remove(freed);
                    _net.RemoveServer(freed);
                    break;
            }
        }
    }

    private IPAddress Relayed(AddressFamily family) => (family == AddressFamily.InterNetworkV6 ? V6 : V4)!.Address;

    private IPEndPoint ListenFor(AddressFamily family) => (family == AddressFamily.InterNetworkV6 ? V6 : V4) ?? (V4 ?? V6)!;
}

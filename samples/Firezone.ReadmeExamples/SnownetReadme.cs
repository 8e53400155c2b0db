using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Firezone.Snownet;
using Firezone.Snownet.Turn;

namespace ReadmeExamples;

/// <summary>What the Snownet README's examples talk to: a TUN device, UDP sockets, the portal (stand-ins).</summary>
public interface IExampleTun
{
    void Write(ReadOnlySpan<byte> packet);
}

/// <summary>A UDP socket pair that can send from a given source IP.</summary>
public interface IExampleUdp
{
    void SendTo(ReadOnlySpan<byte> datagram, IPEndPoint? from, IPEndPoint to);
}

/// <summary>The signalling channel to the peer.</summary>
public interface IExamplePortal
{
    void Send(ConnectionId connection, string candidate);

    void Withdraw(ConnectionId connection, string candidate);
}

/// <summary>The code blocks of src/Firezone.Snownet/README.md (fragments: the variables they use are parameters).</summary>
public static class SnownetReadme
{
    public static void NodeExample(RelayId relayId, IPEndPoint relayV4, IPEndPoint relayV6, string username, string password,
        ConnectionId gatewayId, byte[] gatewayPublicKey, Answer answer, byte[] datagram, IPEndPoint from, IPEndPoint local,
        byte[] ipPacket, IExampleTun tun, IExampleUdp udp, IExamplePortal portal)
    {
        #region readme: src/Firezone.Snownet/README.md
        // Each side: a node from a secret 32-byte seed, and its relays (credentials come from the portal).
        var clock = TimeProvider.System;
        long start = clock.GetTimestamp();
        TimeSpan Now() => clock.GetElapsedTime(start);

        using var client = new ClientNode(RandomNumberGenerator.GetBytes(32), Now(), clock.GetUtcNow());
        client.UpdateRelays([], [new TurnRelay(relayId, relayV4, relayV6, username, password)], Now());

        // Open a connection (deprecated offer/answer flow; UpsertConnection takes portal-supplied credentials instead).
        Offer offer = client.NewConnection(gatewayId, intentSentAt: Now(), Now());
        //   → portal → gateway: Answer answer = gatewayNode.AcceptConnection(clientId, offer, clientPublicKey, now);
        client.AcceptAnswer(gatewayId, gatewayPublicKey, answer, Now());

        // The loop. Received datagram (local = its concrete destination IP from IP_PKTINFO, and the socket's port):
        byte[] buffer = new byte[Node.BufferSize];
        DecapsulateResult r = client.Decapsulate(datagram, from, local, buffer, Now());
        if (r.Status == DecapsulateStatus.Packet) tun.Write(buffer.AsSpan(r.Offset, r.Length)); // a decrypted IP packet
        else client.HandleTimeout(Now());                                                       // TURN, ICE or WireGuard control

        // An IP packet from the TUN device:
        EncapsulateResult e = client.Encapsulate(gatewayId, ipPacket, buffer, Now());
        if (e.Status == EncapsulateStatus.Send) udp.SendTo(buffer.AsSpan(e.Offset, e.Length), e.Source, e.Destination!);

        // After every call: drain, then sleep until the next input or PollTimeout().
        while (client.PollTransmit() is { } t) udp.SendTo(t.Payload.Span, t.Source, t.Destination);
        while (client.PollEvent() is { } ev)
        {
            switch (ev)
            {
                case NewIceCandidate c: portal.Send(c.Connection, c.Candidate); break;            // → peer.AddRemoteCandidate
                case InvalidateIceCandidate c: portal.Withdraw(c.Connection, c.Candidate); break; // → peer.RemoveRemoteCandidate
                case ConnectionEstablished: /* traffic flows */ break;
                case ConnectionFailed or ConnectionClosed: /* drop the peer's state */ break;
            }
        }

        if (client.PollTimeout() is { } due && due <= Now()) client.HandleTimeout(Now());
        #endregion
    }

    public static void TurnServerExample(TimeProvider time, long start, ReadOnlySpan<byte> datagram, SocketAddress clientSocketAddress,
        IPEndPoint clientEndPoint, Func<int, AddressFamily, Socket> allocationSocket, Span<byte> buffer, int n,
        SocketAddress peerSocketAddress, int P)
    {
        #region readme: src/Firezone.Snownet/README.md
        var server = new TurnServer(new TurnServerOptions { PublicIPv4 = IPAddress.Parse("203.0.113.10") }); // AuthSecret: 64 hex, random
        RelayForwarder forwarder = server.Forwarder;  // thread-safe ChannelData data path, any number of receive threads
        TimeSpan now = time.GetElapsedTime(start); DateTimeOffset utcNow = time.GetUtcNow();

        // Datagram on the listening port (3478). ChannelData (first byte 0x40–0x7F) can go straight to the forwarder:
        if (forwarder.TryRelayToPeer(datagram, clientSocketAddress, out RelayToPeer p))
            allocationSocket(p.AllocationPort, p.Peer.AddressFamily).SendTo(datagram.Slice(p.PayloadOffset, p.PayloadLength), SocketFlags.None, p.PeerSocketAddress);
        // STUN (and anything else) goes to the single-threaded control plane (which also relays ChannelData and counts bytes):
        RelayToPeer? toPeer = server.HandleClientInput(datagram, clientEndPoint /* or a SocketAddress */, now, utcNow);

        // Datagram of n bytes on allocation port P, received at offset 4 of the buffer:
        if (forwarder.TryRelayToClient(n, peerSocketAddress, P, out RelayToClient c))
            { /* write the ChannelData header (c.Channel, n) into buffer[0..4], send buffer[..(4 + n)] to c.ClientSocketAddress */ }
        else server.HandlePeerTraffic(buffer[4..(4 + n)], peerSocketAddress, P, now); // permitted peer without channel: Data indication

        while (server.TryPollCommand(out var command))
        {
            // SendMessage (command.MessageType / command.ErrorCode feed responses_total), CreateAllocation, FreeAllocation.
            // CreateAllocation: bind synchronously; on failure report it before polling again:
            //   server.HandleAllocationFailed(command.Port, command.Family, portInUse: e.SocketErrorCode == SocketError.AddressAlreadyInUse, now);
        }
        if (server.PollTimeout() is { } deadline && deadline <= now) server.HandleTimeout(now); // O(1) / only what is due
        #endregion
    }
}

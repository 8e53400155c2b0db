using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Stun;
using Firezone.Snownet.Turn;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>Builds requests and servers the way upstream's regression tests do (zero RNG, port 3478, range 49152–65535).</summary>
internal static class RelayTestKit
{
    /// <summary>The monotonic instant tests start at (an arbitrary origin: nothing may depend on its value).</summary>
    public static readonly TimeSpan Start = TimeSpan.FromHours(1);

    /// <summary>The wall clock at <see cref="Start"/>.</summary>
    public static readonly DateTimeOffset WallStart = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>A wall clock that runs with the monotonic one (no jumps): the <c>utcNow</c> of a well-behaved host.</summary>
    public static DateTimeOffset Wall(TimeSpan now) => WallStart + (now - Start);

    public static TurnServer ZeroServer(IPAddress? v4, IPAddress? v6 = null, int lowest = 49152, int highest = 65535) => new(new TurnServerOptions
    {
        PublicIPv4 = v4,
        PublicIPv6 = v6,
        LowestPort = lowest,
        HighestPort = highest,
        Random = span => span.Clear(),
    });

    /// <summary>A username that expires 1000 s (wall clock) after the monotonic instant <paramref name="now"/>.</summary>
    public static string ValidUsername(string salt, TimeSpan now) => $"{Wall(now).ToUnixTimeSeconds() + 1000}:{salt}";

    public static byte[] Key(TurnServer server, string username)
    {
        Assert.True(FirezoneCredentials.TryParseUsername(username, out ulong expiry, out string salt));
        return StunCredentials.LongTermKey(username, "firezone", FirezoneCredentials.ComputePassword(server.AuthSecret, expiry, salt));
    }

    public static TransactionId Id(ulong high, uint low)
    {
        Span<byte> bytes = stackalloc byte[12];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes, high);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes[8..], low);
        return new TransactionId(bytes);
    }

    public delegate void Attributes(ref StunMessageBuilder builder);

    public static byte[] Message(StunMethod method, StunClass cls, TransactionId id, Attributes attributes, string? username = null, string? nonce = null, byte[]? key = null)
    {
        Span<byte> buffer = new byte[65_535]; // large enough for requests naming thousands of peers
        var builder = new StunMessageBuilder(buffer, method, cls, id);
        attributes(ref builder);
        if (username is not null)
        {
            builder.AddUsername(username);
        }

        if (nonce is not null)
        {
            builder.AddRealm("firezone");
            builder.AddNonce(nonce);
        }

        if (key is not null)
        {
            builder.AddMessageIntegrity(key);
        }

        return builder.ToArray();
    }

    public static List<TurnServerCommand> Drain(TurnServer server)
    {
        var list = new List<TurnServerCommand>();
        while (server.TryPollCommand(out var command))
        {
            list.Add(command);
        }

        return list;
    }

    public static TurnServerCommand Single(TurnServer server)
    {
        var commands = Drain(server);
        Assert.Single(commands);
        return commands[0];
    }

    public static void AssertSend(TurnServerCommand command, IPEndPoint client, byte[] expected)
    {
        Assert.Equal(TurnServerCommandKind.SendMessage, command.Kind);
        Assert.Equal(client, command.Destination);
        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(command.Payload!));
    }

    public static void AssertCreate(TurnServerCommand command, int port, AddressFamily family) =>
        Assert.Equal(new TurnServerCommand { Kind = TurnServerCommandKind.CreateAllocation, Port = port, Family = family }, command);

    public static void AssertFree(TurnServerCommand command, int port, AddressFamily family) =>
        Assert.Equal(new TurnServerCommand { Kind = TurnServerCommandKind.FreeAllocation, Port = port, Family = family }, command);

    /// <summary>Parses a response the server queued, for assertions on its fields.</summary>
    public static (StunClass Class, int? Error, string? Nonce) Inspect(TurnServerCommand command)
    {
        Assert.Equal(TurnServerCommandKind.SendMessage, command.Kind);
        Assert.True(StunMessage.TryParse(command.Payload, out var message, out var error), error.ToString());
        return (message.Class, message.ErrorCode, message.Nonce);
    }

    public static bool IsSignedWith(TurnServerCommand command, byte[] key)
    {
        Assert.True(StunMessage.TryParse(command.Payload, out var message, out _));
        return message.VerifyMessageIntegrity(key);
    }

    public static bool HasIntegrity(TurnServerCommand command)
    {
        Assert.True(StunMessage.TryParse(command.Payload, out var message, out _));
        return message.HasMessageIntegrity;
    }
}

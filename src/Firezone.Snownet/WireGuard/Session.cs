using System.Buffers.Binary;
using System.Security.Cryptography;
using AeadAlgorithm = NSec.Cryptography.AeadAlgorithm;
using Key = NSec.Cryptography.Key;
using KeyBlobFormat = NSec.Cryptography.KeyBlobFormat;

namespace Firezone.Snownet.WireGuard;

/// <summary>Outcome of decrypting one transport message.</summary>
internal enum DecryptStatus
{
    /// <summary>Decrypted and counted.</summary>
    Ok,
    /// <summary>Counter already seen or too far behind the window.</summary>
    Replayed,
    /// <summary>The Poly1305 tag did not verify.</summary>
    AuthenticationFailed,
    /// <summary>The session is older than REJECT_AFTER_TIME.</summary>
    Expired,
    /// <summary>The destination buffer cannot hold the plaintext.</summary>
    BufferTooSmall,
}

/// <summary>
/// One WireGuard keypair (whitepaper §5.4.6): indices, ChaCha20-Poly1305 send and receive keys, the send counter
/// and the receive replay window. Encrypt and decrypt write into caller buffers and allocate nothing.
/// Transport plaintext is not padded (as in boringtun); receivers cut the packet to its IP length.
/// <para>
/// Sending uses System.Security.Cryptography (OpenSSL). Receiving uses NSec (libsodium), whose decrypt returns false
/// on a bad tag: the BCL throws <see cref="AuthenticationTagMismatchException"/>, so every forged datagram with a
/// valid receiver index cost an exception (about 2.3 µs). libsodium also checks the tag before decrypting, so a forged
/// datagram costs one Poly1305 pass; valid 1280-byte packets decrypt about 7 % slower than with OpenSSL, small ones
/// (keepalives, ACKs) over twice as fast (ForgedPacketBenchmarks).
/// </para>
/// </summary>
internal sealed class Session : IDisposable
{
    private static readonly AeadAlgorithm ReceiveAead = AeadAlgorithm.ChaCha20Poly1305;

    private readonly ChaCha20Poly1305 _send;
    private readonly Key _receive;
    private readonly ReplayWindow _replay = new();
    private ulong _sendCounter;

    /// <summary>Creates a session from handshake output, established at <paramref name="now"/>.</summary>
    public Session(SessionKeys keys, TimeSpan now)
    {
        LocalIndex = keys.LocalIndex;
        RemoteIndex = keys.RemoteIndex;
        IsInitiator = keys.IsInitiator;
        EstablishedAt = now;
        _send = new ChaCha20Poly1305(keys.SendKey);
        _receive = Key.Import(ReceiveAead, keys.ReceiveKey, KeyBlobFormat.RawSymmetricKey);
        CryptographicOperations.ZeroMemory(keys.SendKey);
        CryptographicOperations.ZeroMemory(keys.ReceiveKey);
    }

    /// <summary>Our index: the receiver index of incoming transport messages.</summary>
    public uint LocalIndex { get; }
    /// <summary>The peer's index: written into outgoing transport messages.</summary>
    public uint RemoteIndex { get; }
    /// <summary>True if we initiated the handshake that made this session.</summary>
    public bool IsInitiator { get; }
    /// <summary>When the keys were derived.</summary>
    public TimeSpan EstablishedAt { get; }
    /// <summary>Next send counter.</summary>
    public ulong SendCounter => _sendCounter;

    /// <summary>True if the session may still send at <paramref name="now"/>.</summary>
    public bool CanSend(TimeSpan now) =>
        now - EstablishedAt < WireGuardTimers.RejectAfterTime && _sendCounter < WireGuardTimers.RejectAfterMessages;

    /// <summary>Encrypts <paramref name="packet"/> as a transport message into <paramref name="destination"/>; returns its length.</summary>
    public int Encrypt(ReadOnlySpan<byte> packet, Span<byte> destination)
    {
        var length = packet.Length + MessageFormat.DataOverhead;
        var counter = _sendCounter++;
        BinaryPrimitives.WriteUInt32LittleEndian(destination, MessageFormat.TypeData);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[MessageFormat.DataReceiver..], RemoteIndex);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[MessageFormat.DataCounter..], counter);
        Span<byte> nonce = stackalloc byte[12];
        HandshakeAead.WriteNonce(nonce, counter);
        _send.Encrypt(nonce, packet,
            destination.Slice(MessageFormat.DataHeaderLength, packet.Length),
            destination.Slice(MessageFormat.DataHeaderLength + packet.Length, MessageFormat.TagLength));
        return length;
    }

    /// <summary>
    /// Decrypts a transport message (already matched to this session by index) into <paramref name="destination"/>.
    /// Never throws for any datagram content: a forged or corrupted message is <see cref="DecryptStatus.AuthenticationFailed"/>
    /// and leaves the replay window untouched.
    /// </summary>
    public DecryptStatus Decrypt(ReadOnlySpan<byte> datagram, Span<byte> destination, TimeSpan now, out int length)
    {
        length = datagram.Length - MessageFormat.DataOverhead;
        if (destination.Length < length) return DecryptStatus.BufferTooSmall;
        if (now - EstablishedAt >= WireGuardTimers.RejectAfterTime) return DecryptStatus.Expired;
        var counter = BinaryPrimitives.ReadUInt64LittleEndian(datagram[MessageFormat.DataCounter..]);
        if (!_replay.MayAccept(counter)) return DecryptStatus.Replayed;
        Span<byte> nonce = stackalloc byte[12];
        HandshakeAead.WriteNonce(nonce, counter);
        if (!ReceiveAead.Decrypt(_receive, nonce, ReadOnlySpan<byte>.Empty, datagram[MessageFormat.DataHeaderLength..], destination[..length]))
            return DecryptStatus.AuthenticationFailed;
        return _replay.Accept(counter) ? DecryptStatus.Ok : DecryptStatus.Replayed;
    }

    /// <summary>Releases the AEAD contexts.</summary>
    public void Dispose()
    {
        _send.Dispose();
        _receive.Dispose();
    }
}

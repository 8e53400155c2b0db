using System.Buffers.Binary;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.WireGuard;
using NSecAead = NSec.Cryptography.AeadAlgorithm;
using NSecKey = NSec.Cryptography.Key;
using NSecKeyBlobFormat = NSec.Cryptography.KeyBlobFormat;

namespace Firezone.Benchmarks.WireGuard;

/// <summary>
/// Forged transport datagrams (valid type and receiver index, fresh counters, random ciphertext and tag) dropped by an
/// established tunnel: Op/s of the first row = drops per second on one core. The other rows compare the two AEAD
/// implementations the tunnel could use on the same sizes: System.Security.Cryptography (OpenSSL; throws
/// <see cref="AuthenticationTagMismatchException"/> on a bad tag) and NSec (libsodium; returns false), for valid and
/// forged messages, decrypt and encrypt. Payload 0 is a keepalive, 1280 Firezone's tunnel MTU.
/// Run: <c>dotnet run -c Release --project benchmarks/Firezone.Benchmarks -- --filter '*ForgedPacket*'</c>.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(OpsConfig))]
public class ForgedPacketBenchmarks
{
    private sealed class OpsConfig : BenchmarkDotNet.Configs.ManualConfig
    {
        public OpsConfig() => AddColumn(BenchmarkDotNet.Columns.StatisticColumn.OperationsPerSecond);
    }

    private const int PerInvoke = 64;
    private static readonly TimeSpan Now = TimeSpan.FromSeconds(1);
    private static readonly DateTimeOffset Wall = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    [Params(0, 1280)]
    public int PayloadSize;

    private Tunnel _a = null!;
    private Tunnel _b = null!;
    private byte[][] _forged = null!;
    private readonly byte[] _plain = new byte[2048];
    private readonly byte[] _sealed = new byte[2048];
    private byte[] _valid = null!;
    private byte[] _validTag = null!;
    private byte[] _validCombined = null!;
    private byte[] _forgedCombined = null!;
    private readonly byte[] _nonce = new byte[12];
    private ChaCha20Poly1305 _bcl = null!;
    private NSecKey _nsecKey = null!;

    [GlobalSetup]
    public void Setup()
    {
        (_a, _b) = ConnectedTunnels.Create(Now, Wall);
        _forged = new byte[PerInvoke][];
        for (var i = 0; i < PerInvoke; i++)
        {
            var d = new byte[PayloadSize + 32];
            RandomNumberGenerator.Fill(d);
            BinaryPrimitives.WriteUInt32LittleEndian(d, 4);
            BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(4), _b.CurrentLocalIndex);
            BinaryPrimitives.WriteUInt64LittleEndian(d.AsSpan(8), 1_000_000UL + (ulong)i);
            _forged[i] = d;
        }
        if (TunnelDropsForged() != PerInvoke) throw new InvalidOperationException("forged packets not dropped");

        var key = RandomNumberGenerator.GetBytes(32);
        _bcl = new ChaCha20Poly1305(key);
        _nsecKey = NSecKey.Import(NSecAead.ChaCha20Poly1305, key, NSecKeyBlobFormat.RawSymmetricKey);
        var packet = RandomNumberGenerator.GetBytes(PayloadSize);
        _valid = new byte[PayloadSize];
        _validTag = new byte[16];
        _bcl.Encrypt(_nonce, packet, _valid, _validTag);
        _validCombined = [.. _valid, .. _validTag];
        _forgedCombined = (byte[])_validCombined.Clone();
        _forgedCombined[^1] ^= 1;
    }

    [Benchmark(OperationsPerInvoke = PerInvoke, Description = "tunnel: forged transport datagrams dropped")]
    public int TunnelDropsForged()
    {
        var dropped = 0;
        foreach (var d in _forged)
        {
            if (_b.Decapsulate(d, default, _plain, Now).Error == WireGuardError.DecryptionFailed) dropped++;
        }
        return dropped;
    }

    [Benchmark(Description = "BCL ChaCha20Poly1305.Decrypt, valid")]
    public int BclDecryptValid()
    {
        _bcl.Decrypt(_nonce, _valid, _validTag, _plain.AsSpan(0, PayloadSize));
        return _plain[0];
    }

    [Benchmark(Description = "NSec ChaCha20Poly1305.Decrypt, valid")]
    public bool NSecDecryptValid() => NSecAead.ChaCha20Poly1305.Decrypt(_nsecKey, _nonce, default, _validCombined, _plain.AsSpan(0, PayloadSize));

    [Benchmark(Description = "BCL ChaCha20Poly1305.Decrypt, forged (exception)")]
    public bool BclDecryptForged()
    {
        try
        {
            _bcl.Decrypt(_nonce, _valid, _forgedCombined.AsSpan(PayloadSize), _plain.AsSpan(0, PayloadSize));
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    [Benchmark(Description = "NSec ChaCha20Poly1305.Decrypt, forged (false)")]
    public bool NSecDecryptForged() => NSecAead.ChaCha20Poly1305.Decrypt(_nsecKey, _nonce, default, _forgedCombined, _plain.AsSpan(0, PayloadSize));

    [Benchmark(Description = "BCL ChaCha20Poly1305.Encrypt")]
    public int BclEncrypt()
    {
        _bcl.Encrypt(_nonce, _plain.AsSpan(0, PayloadSize), _sealed.AsSpan(0, PayloadSize), _sealed.AsSpan(PayloadSize, 16));
        return _sealed[0];
    }

    [Benchmark(Description = "NSec ChaCha20Poly1305.Encrypt")]
    public int NSecEncrypt()
    {
        NSecAead.ChaCha20Poly1305.Encrypt(_nsecKey, _nonce, default, _plain.AsSpan(0, PayloadSize), _sealed.AsSpan(0, PayloadSize + 16));
        return _sealed[0];
    }
}

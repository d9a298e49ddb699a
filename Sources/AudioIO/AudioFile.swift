import CSndfile
import Foundation
import SpeechBase

/// Mono audio samples at one sample rate.
public struct MonoAudio: Sendable, Equatable {
    /// Samples, in the scale chosen by ``AudioReadOptions/scale``.
    public var samples: [Float]
    /// Samples per second.
    public var sampleRate: Int

    public init(samples: [Float], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }

    /// Length in seconds.
    public var duration: Double { Double(samples.count) / Double(sampleRate) }
}

/// What a file holds, read from its header.
public struct AudioFileInfo: Sendable, Equatable {
    public var frames: Int
    public var sampleRate: Int
    public var channels: Int
    /// libsndfile's name of the container and encoding, e.g. "WAV (Microsoft), Signed 16 bit PCM".
    public var format: String
}

/// How ``AudioFile/read(_:options:)`` turns a file into ``MonoAudio``.
public struct AudioReadOptions: Sendable, Equatable {
    /// Channel to keep (0-based); `nil` averages all channels.
    public var channel: Int?
    /// Sample rate to deliver; `nil` keeps the file's own.
    public var sampleRate: Int?
    /// Whether a file at a higher rate than ``sampleRate`` is resampled down to it (else refused;
    /// Kaldi's `--allow-downsample`).
    public var allowDownsample: Bool
    /// Whether a file at a lower rate is resampled up (Kaldi's `--allow-upsample`).
    public var allowUpsample: Bool
    /// Factor applied to libsndfile's normalized [-1, 1) samples. The default, 32768,
    /// gives the 16-bit integer scale at which Kaldi reads audio.
    public var scale: Float

    /// `allowResampling` sets both directions.
    public init(channel: Int? = nil, sampleRate: Int? = nil, allowResampling: Bool = true, scale: Float = 32768) {
        self.init(channel: channel, sampleRate: sampleRate, allowDownsample: allowResampling, allowUpsample: allowResampling, scale: scale)
    }

    public init(channel: Int? = nil, sampleRate: Int? = nil, allowDownsample: Bool, allowUpsample: Bool, scale: Float = 32768) {
        self.channel = channel
        self.sampleRate = sampleRate
        self.allowDownsample = allowDownsample
        self.allowUpsample = allowUpsample
        self.scale = scale
    }
}

/// Why a file could not be read. The description names the file and the reason.
public struct AudioError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}

/// Reading and writing audio files through libsndfile (WAV, FLAC, OGG, AIFF, ... whatever it reads).
public enum AudioFile {
    /// The header of `path`, without reading its samples.
    public static func info(_ path: String) throws -> AudioFileInfo {
        let handle = try SndfileHandle(readingFrom: path)
        defer { handle.close() }
        return handle.info
    }

    /// Reads `path` as mono Float samples.
    ///
    /// Multi-channel audio is averaged, or one channel kept (``AudioReadOptions/channel``).
    /// A file at another rate than ``AudioReadOptions/sampleRate`` is resampled with
    /// libsamplerate's best sinc converter, or refused when resampling is not allowed.
    /// A file whose data ends before its header says, or that holds no samples, is refused.
    public static func read(_ path: String, options: AudioReadOptions = AudioReadOptions()) throws -> MonoAudio {
        let handle = try SndfileHandle(readingFrom: path)
        defer { handle.close() }
        let info = handle.header
        if let channel = options.channel, channel < 0 || channel >= info.channels {
            throw AudioError(path: path, reason: "has \(info.channels) channel(s); channel \(channel) does not exist (channels count from 0)")
        }
        if info.frames == 0 {
            throw AudioError(path: path, reason: "holds no audio samples")
        }
        if let declared = handle.truncationReport {
            throw AudioError(path: path, reason: "is truncated: \(declared)")
        }
        // The header's frame count is untrusted: memory grows with the data actually read
        // (at most doubling each time), and only then is it compared with the header.
        let channels = info.channels
        // One frame more than declared, so that a whole file is read without growing.
        var capacity = min(info.frames, 1 << 20) + 1
        var interleaved = [Float](repeating: 0, count: capacity * channels)
        var got = 0
        while true {
            if got == capacity {
                capacity *= 2
                interleaved.append(contentsOf: repeatElement(0, count: (capacity - got) * channels))
            }
            let count = interleaved.withUnsafeMutableBufferPointer { buffer in
                Int(sf_readf_float(handle.file, buffer.baseAddress! + got * channels, sf_count_t(capacity - got)))
            }
            if count <= 0 { break }
            got += count
            if got >= info.frames && got < capacity { break }
        }
        interleaved.removeLast((capacity - got) * channels)
        if got < info.frames {
            throw AudioError(path: path, reason: "is truncated or corrupt: read \(got) of \(info.frames) frames (\(handle.lastError))")
        }
        var mono = downmix(interleaved, channels: channels, keep: options.channel, scale: options.scale)
        var rate = info.sampleRate
        if let target = options.sampleRate, target != rate {
            let down = target < rate
            guard down ? options.allowDownsample : options.allowUpsample else {
                throw AudioError(path: path, reason: "is sampled at \(rate) Hz, not the working rate \(target) Hz; "
                    + (down ? "--allow-downsample" : "--allow-upsample") + " resamples it (as in Kaldi)")
            }
            mono = try Resampler.resample(mono, from: rate, to: target, path: path)
            rate = target
        }
        if let bad = mono.firstIndex(where: { !$0.isFinite }) {
            throw AudioError(path: path, reason: "sample \(bad) is not a finite number")
        }
        return MonoAudio(samples: mono, sampleRate: rate)
    }

    /// Writes mono samples in [-1, 1) as 16-bit PCM (WAV or FLAC, from the extension), atomically:
    /// the file appears under `path` only once it is complete.
    public static func write(_ samples: [Float], sampleRate: Int, to path: String) throws {
        let lower = path.lowercased()
        let major: Int32 = lower.hasSuffix(".flac") ? Int32(SF_FORMAT_FLAC) : Int32(SF_FORMAT_WAV)
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = 1
        info.format = major | Int32(SF_FORMAT_PCM_16)
        do { try AtomicFile.checkReplaceable(path) } catch { throw AudioError(path: path, reason: "\(FileError.reason(error))") }
        let temporary = temporaryName(for: path)
        guard let file = sf_open(temporary, Int32(SFM_WRITE), &info) else {
            throw AudioError(path: path, reason: "cannot be written: \(String(cString: sf_strerror(nil)))")
        }
        // Clip rather than wrap: libsndfile's float-to-int conversion is otherwise undefined past ±1.
        sf_command(file, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        let written = samples.withUnsafeBufferPointer { Int(sf_writef_float(file, $0.baseAddress, sf_count_t(samples.count))) }
        let error = String(cString: sf_strerror(file))
        sf_close(file)
        guard written == samples.count else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw AudioError(path: path, reason: "write failed after \(written) of \(samples.count) samples: \(error)")
        }
        try moveIntoPlace(temporary, path)
    }

    static func downmix(_ interleaved: [Float], channels: Int, keep: Int?, scale: Float) -> [Float] {
        let frames = interleaved.count / channels
        if channels == 1 {
            var mono = interleaved
            if scale != 1 {
                mono.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] *= scale } }
            }
            return mono
        }
        var mono = [Float](repeating: 0, count: frames)
        interleaved.withUnsafeBufferPointer { source in
            mono.withUnsafeMutableBufferPointer { target in
                if let keep {
                    for t in 0..<frames { target[t] = source[t * channels + keep] * scale }
                } else {
                    let factor = scale / Float(channels)
                    for t in 0..<frames {
                        var sum: Float = 0
                        for c in 0..<channels { sum += source[t * channels + c] }
                        target[t] = sum * factor
                    }
                }
            }
        }
        return mono
    }
}

/// A temporary sibling name for atomic writes: `dir/.name.tmp-PID`.
public func temporaryName(for path: String) -> String {
    let slash = path.lastIndex(of: "/")
    let folder = slash.map { String(path[...$0]) } ?? ""
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    return folder + "." + name + ".tmp-\(getpid())"
}

/// Renames a completed temporary file over `path` (atomic on one file system).
public func moveIntoPlace(_ temporary: String, _ path: String) throws {
    if rename(temporary, path) != 0 {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw AudioError(path: path, reason: "cannot be written: \(reason)")
    }
}

/// An open libsndfile handle; closes once.
final class SndfileHandle {
    let path: String
    let file: OpaquePointer
    private var isOpen = true

    init(readingFrom path: String) throws {
        self.path = path
        do { try requireRegularFile(path) } catch {
            if path.hasSuffix("]"), path.contains("["), FileKind.of(path) == .missing {
                throw AudioError(path: path, reason: "does not exist (Kaldi's extended filenames, 'file.wav[start:end]', are not supported: "
                    + "describe parts of a recording with a segments file instead)")
            }
            throw AudioError(path: path, reason: FileError.reason(error, about: path))
        }
        var raw = SF_INFO()
        // Files up to 64 MiB are read whole with one system call and parsed from memory:
        // libsndfile's own reads take a dozen small reads and seeks per file, which costs
        // more than the parsing for the short utterances of a speech corpus.
        let memory = MemoryFile(path: path, limit: 64 << 20)
        let opened: OpaquePointer?
        if let memory {
            var callbacks = MemoryFile.callbacks
            opened = sf_open_virtual(&callbacks, Int32(SFM_READ), &raw, Unmanaged.passUnretained(memory).toOpaque())
        } else {
            opened = sf_open(path, Int32(SFM_READ), &raw)
        }
        guard let file = opened else {
            // Diagnose only on failure: the common case costs no extra system calls.
            throw AudioError(path: path, reason: Self.whyUnreadable(path))
        }
        self.memory = memory
        self.file = file
        self.raw = raw
        if raw.channels < 1 || raw.samplerate < 1 {
            sf_close(file)
            isOpen = false
            throw AudioError(path: path, reason: "has an invalid header (\(raw.channels) channels at \(raw.samplerate) Hz)")
        }
    }

    /// Keeps the in-memory bytes alive while libsndfile reads them.
    private let memory: MemoryFile?
    private let raw: SF_INFO

    /// Frames, rate and channels from the header, without the format's name.
    var header: (frames: Int, sampleRate: Int, channels: Int) {
        (Int(raw.frames), Int(raw.samplerate), Int(raw.channels))
    }

    var info: AudioFileInfo {
        func name(_ format: Int32) -> String? {
            var description = SF_FORMAT_INFO()
            description.format = format
            sf_command(nil, Int32(SFC_GET_FORMAT_INFO), &description, Int32(MemoryLayout<SF_FORMAT_INFO>.size))
            return description.name.map { String(cString: $0) }
        }
        let format = [name(raw.format & Int32(SF_FORMAT_TYPEMASK)), name(raw.format & Int32(SF_FORMAT_SUBMASK))]
            .compactMap { $0 }.joined(separator: ", ")
        return AudioFileInfo(frames: Int(raw.frames), sampleRate: Int(raw.samplerate), channels: Int(raw.channels), format: format)
    }

    private static func whyUnreadable(_ path: String) -> String {
        let libraryReason = String(cString: sf_strerror(nil))
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return "does not exist" }
        if isDirectory.boolValue { return "is a directory, not an audio file" }
        guard FileManager.default.isReadableFile(atPath: path) else { return "cannot be read (permission denied)" }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return size == 0 ? "is empty" : "is not audio libsndfile can read (\(libraryReason))"
    }

    /// libsndfile opens a file whose data chunk runs past the file's end and reads what is
    /// there; its log then has a line such as `data : 2000 (should be 200)`. Returns that
    /// line, or nil when every chunk is whole. (The container's own size, `RIFF : ...`, is often
    /// wrong in streamed files and says nothing about the samples, so it is not taken.)
    var truncationReport: String? {
        var buffer = [CChar](repeating: 0, count: 8192)
        let count = sf_command(file, Int32(SFC_GET_LOG_INFO), &buffer, Int32(buffer.count))
        // Most files' logs have no "should be": skip parsing them.
        guard count > 0, strstr(buffer, "(should be") != nil else { return nil }
        let log = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        for line in log.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !["RIFF", "RIFX", "FORM", "RF64"].contains(parts[0]),
                  let open = parts[1].range(of: "(should be "), parts[1].hasSuffix(")") else { continue }
            let declared = UInt64(parts[1][..<open.lowerBound].trimmingCharacters(in: .whitespaces))
            let actual = UInt64(parts[1][open.upperBound...].dropLast())
            if let declared, let actual, declared > actual, declared != 0xFFFF_FFFF {
                return "its \(parts[0]) chunk declares \(declared) bytes but the file holds \(actual)"
            }
        }
        return nil
    }

    var lastError: String { String(cString: sf_strerror(file)) }

    func close() {
        if isOpen {
            sf_close(file)
            isOpen = false
        }
    }

    deinit { close() }
}

/// A whole file in memory, read by libsndfile through its virtual I/O callbacks.
final class MemoryFile {
    let bytes: UnsafeMutableRawBufferPointer
    var position = 0

    /// Reads `path` whole with one `read`, or returns nil (the caller falls back to `sf_open`,
    /// which also reports why a file cannot be read) when it cannot or it is larger than `limit`.
    init?(path: String, limit: Int) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, status.st_size > 0, status.st_size <= limit else { return nil }
        let size = Int(status.st_size)
        bytes = .allocate(byteCount: size, alignment: 16)
        var got = 0
        while got < size {
            let n = read(fd, bytes.baseAddress! + got, size - got)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        guard got == size else {
            bytes.deallocate()
            return nil
        }
    }

    deinit { bytes.deallocate() }

    private static func from(_ pointer: UnsafeMutableRawPointer?) -> MemoryFile {
        Unmanaged<MemoryFile>.fromOpaque(pointer!).takeUnretainedValue()
    }

    static let callbacks = SF_VIRTUAL_IO(
        get_filelen: { sf_count_t(MemoryFile.from($0).bytes.count) },
        seek: { offset, whence, context in
            let file = MemoryFile.from(context)
            let base: Int
            switch whence {
            case SEEK_CUR: base = file.position
            case SEEK_END: base = file.bytes.count
            default: base = 0
            }
            let target = base + Int(offset)
            guard target >= 0 else { return -1 }
            file.position = target
            return sf_count_t(target)
        },
        read: { destination, count, context in
            let file = MemoryFile.from(context)
            let available = max(0, min(Int(count), file.bytes.count - file.position))
            if available > 0 {
                destination!.copyMemory(from: file.bytes.baseAddress! + file.position, byteCount: available)
                file.position += available
            }
            return sf_count_t(available)
        },
        write: { _, _, _ in 0 },
        tell: { sf_count_t(MemoryFile.from($0).position) }
    )
}

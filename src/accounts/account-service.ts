import type { KeyObject } from 'node:crypto';
import { UniqueConstraintViolationException, type MikroORM } from '@mikro-orm/mysql';
import { toAccount, type Account } from './account';
import { hashCost, PasswordHasher, unmatchableHash } from '../auth/passwords';
import { signToken, type Viewer } from '../auth/tokens';
import { accountGone, AppError, badInput, characterCount, credentialsChanged, hasLoneSurrogate } from '../errors';
import { Role, User } from '../entities';
import type { LoginThrottle, SignUpLimit } from '../limits';
import { datetimeNow } from '../database/datetime';
import { readSettled } from '../database/sql-transaction';

const emailTaken = () => new AppError('EMAIL_TAKEN', 'An account with that email already exists: log in instead.');

export interface AccountSettings {
  tokenKey: KeyObject;
  jwtTtlSeconds: number;
  passwordHashCost: number;
}

export interface AuthResult {
  token: string;
  user: Account;
}

/** A part of an address: no white space, no control or invisible (format) character (a NUL or a right-to-left override would make look-alike accounts). */
const EMAIL_PART = String.raw`[^\s@\p{Cc}\p{Cf}\p{Cs}]+`;
const EMAIL = new RegExp(`^${EMAIL_PART}@${EMAIL_PART}\\.${EMAIL_PART}$`, 'u');
const MIN_PASSWORD = 8;
const MAX_PASSWORD = 200;
/** Whose turn the start-up's own password work (the configured admin's) takes: no client's. */
const OPERATOR = 'operator';

/**
 * One letter case-folded as Unicode's simple folding does: through its capital, so the letters that
 * share one capital share one spelling (ſ and s, ς and σ, µ and μ; String.toLowerCase keeps them
 * apart, and spells a final capital sigma ς), unless the capital is several letters (ß's is SS): the
 * simple folding keeps those to themselves, so straße and strasse stay two addresses.
 */
function foldLetter(letter: string): string {
  // Unicode folds the dotless ı to itself (only Turkic folding joins it to i, whose capital it shares).
  if (letter === 'ı') return letter;
  const capital = letter.toUpperCase();
  return ([...capital].length === 1 ? capital : letter).toLowerCase();
}

/**
 * The one spelling of an email: what is stored, looked up and counted by the log-in throttle. NFC, so
 * an accent typed as one character or as a letter plus a combining mark is the same address (again
 * after folding, which can undo it: T + diaeresis has no precomposed capital); case folded letter by
 * letter (foldLetter), so any two spellings of one address in other cases are one. The column compares
 * bytes (utf8mb4_bin): case is folded here, and nothing else anywhere.
 */
export const canonicalEmail = (email: string) => Array.from(email.trim().normalize('NFC'), foldLetter).join('').normalize('NFC');

function normalizeEmail(email: string): string {
  const normalized = canonicalEmail(email);
  if (normalized.length > 254 || !EMAIL.test(normalized)) throw badInput('That is not a valid email address.');
  return normalized;
}

/**
 * A password's length, at least `min` (sign-up's rule; log-in asks for none: an account's password is
 * whatever it was set to) and at most MAX_PASSWORD, beyond which no account's can be; and text, which
 * hashes as it was typed (scrypt reads its UTF-8).
 */
function checkPassword(password: string, min = MIN_PASSWORD): void {
  if (hasLoneSurrogate(password)) throw badInput('The password is not valid text (it has an unpaired UTF-16 surrogate).');
  const length = characterCount(password);
  if (length < min) throw badInput(`The password must have at least ${min} characters.`);
  if (length > MAX_PASSWORD) throw badInput(`The password must have at most ${MAX_PASSWORD} characters.`);
}

/** Sign-up, log-in and the account lookups behind `me`. */
export class AccountService {
  /** Checked on log-in for an unknown email, so that costs one scrypt, like a wrong password. */
  private readonly unknownEmailHash: string;
  private readonly hasher = new PasswordHasher();

  constructor(
    private readonly orm: MikroORM,
    private readonly settings: AccountSettings,
    /** Failed-attempt limits and the sign-up limit; without them (start-up tasks), nothing is limited. */
    private readonly limits?: { logIns: LoginThrottle; signUps: SignUpLimit },
  ) {
    this.unknownEmailHash = unmatchableHash(settings.passwordHashCost);
  }

  /** Times one password hash at the configured cost, so that the first burst of sign-ups is already judged (PasswordHasher.calibrate). */
  calibratePasswordHashing(): Promise<void> {
    return this.hasher.calibrate(this.settings.passwordHashCost);
  }

  /** `clientIp`: whose turn it is among the password hashes waiting (PasswordHasher). */
  async signUp(email: string, password: string, clientIp: string): Promise<AuthResult> {
    const normalized = normalizeEmail(email);
    checkPassword(password);
    return this.limits ? this.limits.signUps.guard(clientIp, () => this.makeAccount(normalized, password, clientIp)) : this.makeAccount(normalized, password, clientIp);
  }

  private async makeAccount(normalized: string, password: string, clientIp: string): Promise<AuthResult> {
    const em = this.orm.em.fork();
    const user = em.create(User, { email: normalized, passwordHash: await this.hasher.hash(password, this.settings.passwordHashCost, 'signUp', clientIp) });
    try {
      await em.persist(user).flush();
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw emailTaken();
      // With its ID, the INSERT was answered: only the COMMIT's outcome is unknown.
      if (user.id === undefined || !(await this.signedUpAfterAll(user))) throw error;
    }
    return { token: this.tokenFor(user), user: toAccount(user) };
  }

  /**
   * Whether a sign-up whose write failed (its COMMIT unanswered, most likely) made the account after
   * all: a row with this email and this very hash (salted: no one else's) is this sign-up's. Told
   * "try again", the fan would have met EMAIL_TAKEN. While MySQL cannot say, SERVICE_UNAVAILABLE
   * saying how to find out.
   */
  private async signedUpAfterAll(user: User): Promise<boolean> {
    const rows = await readSettled<{ id: number; passwordHash: string }>(
      this.orm,
      'SELECT id, password_hash AS passwordHash FROM users WHERE email = ? FOR UPDATE',
      [user.email],
      'The database did not confirm the sign-up in time: the account may have been made. Log in with this email and password, or sign up again in a moment.',
    );
    const mine = rows.find((row) => row.passwordHash === user.passwordHash);
    if (mine) user.id = Number(mine.id);
    else if (rows.length > 0) throw emailTaken();
    return mine !== undefined;
  }

  /**
   * Signs in; `clientIp` is what the failed-attempt limit per address counts under. What no account
   * can match (not an email, or a password longer than any account has) is BAD_USER_INPUT at once:
   * it costs no password hash and counts as no attempt.
   */
  async logIn(email: string, password: string, clientIp: string): Promise<AuthResult> {
    const canonical = normalizeEmail(email);
    checkPassword(password, 0);
    return this.limits ? this.limits.logIns.guard(canonical, clientIp, () => this.checkCredentials(canonical, password, clientIp)) : this.checkCredentials(canonical, password, clientIp);
  }

  /** `email` as canonicalEmail spells it. */
  private async checkCredentials(email: string, password: string, clientIp: string): Promise<AuthResult> {
    const em = this.orm.em.fork();
    const user = await em.findOne(User, { email });
    // Same message and the same work (one scrypt) for an unknown email and a wrong password, so
    // neither the answer nor its timing tells which emails have accounts.
    const matches = await this.hasher.verify(password, user?.passwordHash ?? this.unknownEmailHash, clientIp);
    if (!user || !matches) {
      throw new AppError('INVALID_CREDENTIALS', 'The email or password is wrong.');
    }
    // A hash made at a lower cost (before PASSWORD_HASH_COST was raised) is made again at today's, so
    // the account's wrong-password answers cost what an unknown email's do and stop telling it apart.
    // Best effort: the password was right, so a failure here (MySQL busy or away) must not refuse the
    // log-in; the next log-in tries again.
    // Only over the hash checked: the operator may have set a new password meanwhile (ensureAdmin),
    // which this one, the old, must not overwrite.
    if (hashCost(user.passwordHash) < this.settings.passwordHashCost) {
      try {
        const rehashed = await this.hasher.hash(password, this.settings.passwordHashCost, 'signIn', clientIp);
        await em.nativeUpdate(User, { id: user.id, passwordHash: user.passwordHash }, { passwordHash: rehashed });
      } catch {
        // kept at the old cost until the next log-in
      }
    }
    return { token: this.tokenFor(user), user: toAccount(user) };
  }

  /** The caller's account; a token whose user no longer exists is refused. */
  async viewer(viewer: Viewer): Promise<Account> {
    const user = await this.orm.em.fork().findOne(User, viewer.id);
    if (!user) throw accountGone();
    return toAccount(user);
  }

  /**
   * The role a token signed under `credentialsAt` (Session.credentialsAt) acts with: the account's as
   * stored now (not as its token claims). A token signed under credentials older than the operator's
   * last change of the account's role or password (ensureAdmin) is refused: it may be the previous
   * owner's, who signed the email up before it was named ADMIN_EMAIL, or come from a sign-in with a
   * leaked password since replaced.
   */
  async roleFor(userId: number, credentialsAt: number): Promise<Role> {
    const user = await this.orm.em.fork().findOne(User, userId, { fields: ['role', 'credentialsChangedAt'] });
    if (!user) throw accountGone();
    if (user.credentialsChangedAt && credentialsAt < user.credentialsChangedAt.getTime()) {
      throw credentialsChanged();
    }
    return user.role;
  }

  /**
   * Makes sure the configured admin account exists with role ADMIN and the configured password, as
   * the operator set it: sign-up's minimum length is not asked, only said (`shortPassword`, for the
   * caller to warn about). Giving an existing account the role or a new password ends the ADMIN
   * power of every token issued before (roleFor); a restart with the same settings changes nothing.
   */
  async ensureAdmin(email: string, password: string): Promise<{ shortPassword: boolean }> {
    const normalized = normalizeEmail(email);
    checkPassword(password, 1);
    const em = this.orm.em.fork();
    const existing = await em.findOne(User, { email: normalized });
    if (!existing) {
      em.persist(em.create(User, { email: normalized, passwordHash: await this.hasher.hash(password, this.settings.passwordHashCost, 'signIn', OPERATOR), role: Role.ADMIN }));
    } else if (existing.role !== Role.ADMIN || !(await this.hasher.verify(password, existing.passwordHash, OPERATOR))) {
      const passwordHash = await this.hasher.hash(password, this.settings.passwordHashCost, 'signIn', OPERATOR);
      // Whole seconds, as tokens carry it (cv), and later than the last change even within its
      // second: tokens signed under that one must not pass as signed under this.
      const previous = existing.credentialsChangedAt?.getTime() ?? 0;
      em.assign(existing, { role: Role.ADMIN, passwordHash, credentialsChangedAt: new Date(Math.max(datetimeNow().getTime(), previous + 1000)) });
    }
    await em.flush();
    return { shortPassword: characterCount(password) < MIN_PASSWORD };
  }

  private tokenFor(user: User): string {
    return signToken({ id: user.id, role: user.role }, user.credentialsChangedAt?.getTime() ?? 0, this.settings.tokenKey, this.settings.jwtTtlSeconds);
  }
}
